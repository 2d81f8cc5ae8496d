public import KeyStore

/// Why the service refused or failed a call: a stable ``code``, the input at
/// fault (``field``), and the ``parameters`` a localized message needs, such
/// as the plan that would allow what was refused.
public struct ServiceError: Error, Sendable, Hashable, CustomStringConvertible {
    public typealias Code = KeyStoreError.Code

    public let code: Code
    public let field: String?
    public let parameters: [String: String]

    public init(_ code: Code, field: String? = nil, _ parameters: [String: String] = [:]) {
        self.code = code
        self.field = field
        self.parameters = parameters
    }

    init(_ error: KeyStoreError) {
        self.init(error.code, field: error.field, error.parameters)
    }

    /// The HTTP status a gateway or dashboard would answer with.
    public var httpStatus: Int {
        switch code {
        case .notFound: 404
        case .planForbidsAPIKeys, .kindNotAllowed, .capabilityNotAllowed, .capabilityNotAllowedForKind,
            .keyLimitReached, .rateLimitAbovePlan, .lifetimeAbovePlan, .keySuspended, .insufficientCapability:
            403
        case .invalidKey: 401
        case .keyRevoked, .keyExpired, .idempotencyKeyReused: 409
        case .storageFailure: 503
        default: 400
        }
    }

    /// English, for logs; people read the localized message.
    public var description: String {
        KeyStoreError(code, field: field, parameters).description
    }
}

extension ServiceError.Code {
    /// The organization's plan has no API keys; `requiredPlan` names the cheapest that has.
    public static let planForbidsAPIKeys = Self(rawValue: "plan_forbids_api_keys")
    public static let kindNotAllowed = Self(rawValue: "kind_not_allowed")
    /// The plan does not allow a capability; `requiredPlan` names one that does.
    public static let capabilityNotAllowed = Self(rawValue: "capability_not_allowed")
    /// A key of this kind may never carry the capability, whatever the plan.
    public static let capabilityNotAllowedForKind = Self(rawValue: "capability_not_allowed_for_kind")
    public static let rateLimitAbovePlan = Self(rawValue: "rate_limit_above_plan")
    public static let lifetimeAbovePlan = Self(rawValue: "lifetime_above_plan")
    /// The key exists but its organization's plan does not allow it now.
    public static let keySuspended = Self(rawValue: "key_suspended")
    public static let unknownPlan = Self(rawValue: "unknown_plan")
    public static let unknownMeter = Self(rawValue: "unknown_meter")
    /// Only meters the product reports (`recorded`) take `usage.record`.
    public static let meterNotRecordable = Self(rawValue: "meter_not_recordable")
    /// A key presented to read quotas is not valid; `reason` says why.
    public static let invalidKey = Self(rawValue: "invalid_key")
    public static let insufficientCapability = Self(rawValue: "insufficient_capability")
}
