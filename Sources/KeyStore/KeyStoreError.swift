/// Why the key store refused or failed an operation.
///
/// ``code`` is stable across versions and languages; ``field`` names the
/// input at fault; ``parameters`` fill the localized message (the RPC layer
/// turns all of it into text). Codes can be added without breaking callers.
public struct KeyStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    public struct Code: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
        public let rawValue: String

        public init(rawValue: String) {
            self.rawValue = rawValue
        }

        public var description: String { rawValue }

        /// No such key in this organization (another organization's key included).
        public static let notFound = Code(rawValue: "not_found")
        public static let keyRevoked = Code(rawValue: "key_revoked")
        public static let keyExpired = Code(rawValue: "key_expired")
        public static let invalidOrganizationId = Code(rawValue: "invalid_organization_id")
        public static let invalidName = Code(rawValue: "invalid_name")
        public static let unknownKind = Code(rawValue: "unknown_kind")
        public static let invalidCapabilities = Code(rawValue: "invalid_capabilities")
        public static let unknownCapability = Code(rawValue: "unknown_capability")
        public static let unknownEnvironment = Code(rawValue: "unknown_environment")
        public static let invalidRateLimit = Code(rawValue: "invalid_rate_limit")
        public static let invalidOrigin = Code(rawValue: "invalid_origin")
        public static let tooManyOrigins = Code(rawValue: "too_many_origins")
        public static let invalidExpiry = Code(rawValue: "invalid_expiry")
        public static let invalidActor = Code(rawValue: "invalid_actor")
        public static let invalidGracePeriod = Code(rawValue: "invalid_grace_period")
        public static let invalidCursor = Code(rawValue: "invalid_cursor")
        public static let invalidLimit = Code(rawValue: "invalid_limit")
        /// The database failed; ``KeyStoreError/parameters`` has `reason`
        /// (`busy`, `read_only`, `full`, `corrupt`, `io`, `other`).
        public static let storageFailure = Code(rawValue: "storage_failure")
    }

    public let code: Code
    public let field: String?
    public let parameters: [String: String]

    public init(_ code: Code, field: String? = nil, _ parameters: [String: String] = [:]) {
        self.code = code
        self.field = field
        self.parameters = parameters
    }

    /// English, for logs; people read the localized message.
    public var description: String {
        var text = code.rawValue
        if let field { text += " (\(field))" }
        if !parameters.isEmpty {
            text += ": " + parameters.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ", ")
        }
        return text
    }
}

extension KeyStoreError.Code {
    /// A create would take the organization past the live-key limit it was given.
    public static let keyLimitReached = Self(rawValue: "key_limit_reached")
    public static let invalidEventId = Self(rawValue: "invalid_event_id")
    public static let invalidPeriod = Self(rawValue: "invalid_period")
    public static let invalidAmount = Self(rawValue: "invalid_amount")
    public static let invalidIdempotencyKey = Self(rawValue: "invalid_idempotency_key")
    /// The idempotency key was used before for another meter or amount.
    public static let idempotencyKeyReused = Self(rawValue: "idempotency_key_reused")
    /// A date range that ends before it starts or spans more than a year.
    public static let invalidDateRange = Self(rawValue: "invalid_date_range")
}
