import KeygateJSON

/// A list param that names at least one value (`events.list`'s `types`):
/// published with `minItems: 1`, and refused empty naming the field, as a
/// caller's mistake rather than a filter that matches nothing. Left out,
/// the param means what its method says (all of them).
public struct NonEmptyList<Element: Decodable & Sendable>: Decodable, Sendable {
    /// The values as sent, in order, at least one.
    public let values: [Element]

    public init(from decoder: any Decoder) throws {
        let values = try decoder.singleValueContainer().decode([Element].self)
        guard !values.isEmpty else { throw ParamsError(field: ParamsDecoder.path(decoder.codingPath), kind: .empty) }
        self.values = values
    }
}

extension NonEmptyList: ConstrainedParam {
    static var constraints: [(key: String, value: JSON)] { [("minItems", 1)] }
}

/// A param type whose published schema is the shape it decodes plus
/// constraints it checks itself (``SchemaRecorder`` adds them).
protocol ConstrainedParam {
    static var constraints: [(key: String, value: JSON)] { get }
}
