import KeygateJSON

/// The id of something a catalog declares, typed by what it names so that a
/// plan id can never be passed where a capability id is expected.
///
/// Ids are the stable strings of the catalog and the wire (`"booking.create"`,
/// `"pro"`); they never change with the language. Two ids are equal when
/// they are the same bytes, as the databases and every client compare
/// them: Swift's `String` holds canonically equivalent texts equal, and
/// took `"pro\u{212A}it"` (with KELVIN SIGN) for a catalog's `"proKit"`.
public struct CatalogIdentifier<Subject>: RawRepresentable, Hashable, Comparable, Sendable,
    ExpressibleByStringLiteral, CustomStringConvertible
{
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    public var description: String { rawValue }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.rawValue.isSameText(as: rhs.rawValue)
    }

    // The hash is String's, of the canonical form: equal bytes hash equal,
    // which is all a hash owes the stricter equality above.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(rawValue)
    }

    public static func < (lhs: Self, rhs: Self) -> Bool {
        lhs.rawValue.utf8.lexicographicallyPrecedes(rhs.rawValue.utf8)
    }
}

extension CatalogIdentifier: Codable {
    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// The id of a ``Capability``, such as `booking.create`.
public typealias CapabilityID = CatalogIdentifier<Capability>
/// The id of a ``KeyKind``, such as `booking_partner`.
public typealias KindID = CatalogIdentifier<KeyKind>
/// The id of a ``Plan``, such as `pro`.
public typealias PlanID = CatalogIdentifier<Plan>
/// The id of a ``Meter``, such as `api.requests`; a quota is named by its meter.
public typealias MeterID = CatalogIdentifier<Meter>
