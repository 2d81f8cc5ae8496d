/// Why the key store refused or failed an operation.
///
/// ``code`` is stable across versions and languages; ``field`` names the
/// input at fault; ``parameters`` fill the localized message (the RPC layer
/// turns all of it into text). Codes can be added without breaking callers.
public struct KeyStoreError: Error, Sendable, Hashable, CustomStringConvertible {
    /// Every code the store can raise. The service adds its own; the RPC
    /// layer's error table gives each one its wire code, HTTP status and
    /// message, and a code without a row there does not compile.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
        /// No such key in this organization (another organization's key included).
        case notFound = "not_found"
        case keyRevoked = "key_revoked"
        case keyExpired = "key_expired"
        case invalidOrganizationId = "invalid_organization_id"
        case invalidName = "invalid_name"
        case unknownKind = "unknown_kind"
        case invalidCapabilities = "invalid_capabilities"
        case unknownCapability = "unknown_capability"
        case unknownEnvironment = "unknown_environment"
        case invalidRateLimit = "invalid_rate_limit"
        case invalidOrigin = "invalid_origin"
        case tooManyOrigins = "too_many_origins"
        case invalidExpiry = "invalid_expiry"
        case invalidActor = "invalid_actor"
        case invalidGracePeriod = "invalid_grace_period"
        /// A rotation with a grace period would leave the key more than
        /// ``KeyRules/maximumPreviousSecrets`` earlier secrets working.
        case tooManyPreviousSecrets = "too_many_previous_secrets"
        case invalidCursor = "invalid_cursor"
        /// Events after the cursor were deleted by the outbox's retention
        /// before they were read: some may be lost to its reader.
        case cursorExpired = "cursor_expired"
        case invalidLimit = "invalid_limit"
        /// The database failed; ``KeyStoreError/parameters`` has `reason`
        /// (`busy`, `read_only`, `full`, `corrupt`, `io`, `unreachable`, `other`).
        case storageFailure = "storage_failure"
        /// A create would take the organization past the live-key limit it was given.
        case keyLimitReached = "key_limit_reached"
        case invalidEventId = "invalid_event_id"
        case invalidPeriod = "invalid_period"
        /// The billing event id was seen before with another event;
        /// ``KeyStoreError/parameters`` has `differs`, the first field
        /// that is not as it was.
        case eventIdReused = "event_id_reused"
        case invalidAmount = "invalid_amount"
        case invalidIdempotencyKey = "invalid_idempotency_key"
        /// The idempotency key was used before for another call (a use of
        /// another meter, amount or `reserve`; a creation of another key; a
        /// rotation of another key or grace period);
        /// ``KeyStoreError/parameters`` has `differs`, the first field that
        /// is not as it was.
        case idempotencyKeyReused = "idempotency_key_reused"
        /// A creation was sent again under the idempotency key of one that
        /// made a key; ``KeyStoreError/parameters`` has `keyId`, that key.
        /// Its secret was answered once, to the first call, and never is
        /// again: nothing was created.
        case keyAlreadyCreated = "key_already_created"
        /// A rotation was sent again under the idempotency key of one that
        /// rotated the key; ``KeyStoreError/parameters`` has `keyId`, that
        /// key. The secret it made was answered once, to the first call,
        /// and never is again: nothing was rotated.
        case keyAlreadyRotated = "key_already_rotated"
        /// A date range that ends before it starts or spans more than a year.
        case invalidDateRange = "invalid_date_range"
        /// A reservation (``KeyStorage/add(_:to:periodStart:organizationId:idempotencyKey:reserve:limit:)``)
        /// would take the meter past its limit; nothing was recorded.
        case quotaExceeded = "quota_exceeded"
        /// An imported key that is of none of the formats verification
        /// accepts (the catalog's own and its legacy formats).
        case unrecognizedKey = "unrecognized_key"
        /// An imported key's `sha256` is not a SHA-256 digest in hex or base64.
        case invalidDigest = "invalid_digest"
        /// An imported key is already another organization's key.
        case keyConflict = "key_conflict"
        /// An imported key's creation or last-use time is in the future, or
        /// its last use before its creation.
        case invalidTimestamp = "invalid_timestamp"

        public var description: String { rawValue }
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
