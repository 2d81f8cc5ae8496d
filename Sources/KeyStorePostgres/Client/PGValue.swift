/// A value bound to a statement parameter. Text travels as text and
/// PostgreSQL casts it to the column's type; bytes travel in binary.
enum PGValue {
    case text(String)
    case integer(Int64)
    case bytes([UInt8])
    case null
}

extension PGValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int64) { self = .integer(value) }
    init(nilLiteral: ()) { self = .null }

    static func of(_ value: String?) -> PGValue { value.map(PGValue.text) ?? .null }
    static func of(_ value: Int64?) -> PGValue { value.map(PGValue.integer) ?? .null }
    static func of(_ value: Int) -> PGValue { .integer(Int64(value)) }
    /// A `boolean`, in the spelling its text input reads.
    static func of(_ value: Bool) -> PGValue { .text(value ? "true" : "false") }
}
