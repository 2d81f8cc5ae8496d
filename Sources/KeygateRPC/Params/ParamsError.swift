/// Why params could not be decoded, naming the field at fault
/// (`capabilities[2]`, `expiresAt`).
struct ParamsError: Error, Equatable {
    enum Kind: Equatable {
        case missing
        /// The JSON type or form expected, such as "string" or "integer".
        case type(expected: String)
        /// A member no type reads, named as sent; ``ParamsError/field`` is
        /// the object holding it (empty at the top level). Kept apart
        /// because the name is the caller's text, echoed only redacted.
        case unknown(member: String)
        case value
        /// A list that must name at least one value, sent empty.
        case empty
        /// A name outside a closed set; the allowed names.
        case oneOf([String])
        /// Given together with another param that excludes it.
        case exclusive(with: String)
        /// Given without another param it needs.
        case requires(String)
        /// Missing, and so is the other param that could stand in its place.
        case missingEither(String)
    }

    let field: String
    let kind: Kind
}
