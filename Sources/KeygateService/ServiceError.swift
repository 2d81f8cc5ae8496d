import KeyStore

/// Why the service refused or failed a call: a stable ``code``, the input at
/// fault (``field``), and the ``parameters`` a localized message needs, such
/// as the plan that would allow what was refused.
public struct ServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    public let code: Code
    public let field: String?
    public let parameters: [String: String]

    public init(_ code: Code, field: String? = nil, _ parameters: [String: String] = [:]) {
        self.code = code
        self.field = field
        self.parameters = parameters
    }

    init(_ error: KeyStoreError) {
        self.init(Code(error.code), field: error.field, error.parameters)
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

extension ServiceError {
    /// Every code the service can raise: the store's, and the plan's own.
    /// The RPC layer's error table gives each its wire code, HTTP status and
    /// message; a code without a row there does not compile.
    public enum Code: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
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
        /// A rotation with a grace period would leave too many earlier secrets working; `max` is the most.
        case tooManyPreviousSecrets = "too_many_previous_secrets"
        case invalidCursor = "invalid_cursor"
        /// Events after the cursor were deleted by the retention before they were read.
        case cursorExpired = "cursor_expired"
        case invalidLimit = "invalid_limit"
        case storageFailure = "storage_failure"
        case keyLimitReached = "key_limit_reached"
        case invalidEventId = "invalid_event_id"
        case invalidPeriod = "invalid_period"
        /// A billing event id reused for another event; `differs` names the first field that differs.
        case eventIdReused = "event_id_reused"
        case invalidAmount = "invalid_amount"
        case invalidIdempotencyKey = "invalid_idempotency_key"
        /// An idempotency key reused for another call (`usage.record`'s,
        /// `keys.create`'s, `keys.rotate`'s); `differs` names the first
        /// field that differs.
        case idempotencyKeyReused = "idempotency_key_reused"
        /// A `keys.create` sent again under the idempotency key of one that
        /// made a key; `keyId` names it. Nothing was created.
        case keyAlreadyCreated = "key_already_created"
        /// A `keys.rotate` sent again under the idempotency key of one that
        /// rotated the key; `keyId` names it. Nothing was rotated.
        case keyAlreadyRotated = "key_already_rotated"
        case invalidDateRange = "invalid_date_range"
        /// A meter is used up: `usage.record` with `reserve` refused the amount.
        case quotaExceeded = "quota_exceeded"
        case unrecognizedKey = "unrecognized_key"
        case invalidDigest = "invalid_digest"
        case keyConflict = "key_conflict"
        case invalidTimestamp = "invalid_timestamp"
        /// The organization's plan has no API keys; `requiredPlan` names the cheapest that has.
        case planForbidsAPIKeys = "plan_forbids_api_keys"
        case kindNotAllowed = "kind_not_allowed"
        /// The plan does not allow a capability; `requiredPlan` names one that does.
        case capabilityNotAllowed = "capability_not_allowed"
        /// A key of this kind may never carry the capability, whatever the plan.
        case capabilityNotAllowedForKind = "capability_not_allowed_for_kind"
        case rateLimitAbovePlan = "rate_limit_above_plan"
        case lifetimeAbovePlan = "lifetime_above_plan"
        /// The key exists but its organization's plan does not allow it now.
        case keySuspended = "key_suspended"
        case unknownPlan = "unknown_plan"
        case unknownMeter = "unknown_meter"
        /// Only meters the product reports (`recorded`) take `usage.record`.
        case meterNotRecordable = "meter_not_recordable"
        /// A billing event dated further ahead than the clock-skew tolerance.
        case eventInFuture = "event_in_future"
        /// A key presented to read quotas is not valid; `reason` is the
        /// verification code that refused it (`malformed`, `not_found`, …).
        case invalidKey = "invalid_key"
        /// A key presented to read quotas belongs to a plan that suspends it,
        /// as verification answers.
        case planSuspended = "plan_suspended"
        case insufficientCapability = "insufficient_capability"

        public var description: String { rawValue }

        init(_ code: KeyStoreError.Code) {
            self = switch code {
            case .notFound: .notFound
            case .keyRevoked: .keyRevoked
            case .keyExpired: .keyExpired
            case .invalidOrganizationId: .invalidOrganizationId
            case .invalidName: .invalidName
            case .unknownKind: .unknownKind
            case .invalidCapabilities: .invalidCapabilities
            case .unknownCapability: .unknownCapability
            case .unknownEnvironment: .unknownEnvironment
            case .invalidRateLimit: .invalidRateLimit
            case .invalidOrigin: .invalidOrigin
            case .tooManyOrigins: .tooManyOrigins
            case .invalidExpiry: .invalidExpiry
            case .invalidActor: .invalidActor
            case .invalidGracePeriod: .invalidGracePeriod
            case .tooManyPreviousSecrets: .tooManyPreviousSecrets
            case .invalidCursor: .invalidCursor
            case .cursorExpired: .cursorExpired
            case .invalidLimit: .invalidLimit
            case .storageFailure: .storageFailure
            case .keyLimitReached: .keyLimitReached
            case .invalidEventId: .invalidEventId
            case .invalidPeriod: .invalidPeriod
            case .eventIdReused: .eventIdReused
            case .invalidAmount: .invalidAmount
            case .invalidIdempotencyKey: .invalidIdempotencyKey
            case .idempotencyKeyReused: .idempotencyKeyReused
            case .keyAlreadyCreated: .keyAlreadyCreated
            case .keyAlreadyRotated: .keyAlreadyRotated
            case .invalidDateRange: .invalidDateRange
            case .quotaExceeded: .quotaExceeded
            case .unrecognizedKey: .unrecognizedKey
            case .invalidDigest: .invalidDigest
            case .keyConflict: .keyConflict
            case .invalidTimestamp: .invalidTimestamp
            }
        }
    }
}
