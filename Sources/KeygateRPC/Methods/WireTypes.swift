public import Foundation
public import KeyStore
import KeygateJSON
public import KeygateService
public import PlanCatalog

// The values results are made of. Each declares its members once
// (`fields`); replies and the published schema both come from that list.

extension KeyStatus: WireEnum {}
extension SubscriptionStatus: WireEnum {}
extension QuotaPeriod: WireEnum {}
extension VerifyOutcome: WireEnum {}
extension LeakAction: WireEnum {}
extension LeakFinding.Outcome: WireEnum {}

/// As a param (`events.list`'s `types`), the types this version writes:
/// another is refused, naming them. Events read keep any type, as a newer
/// process on the same database may write one this version does not know.
extension EventType: WireEnum {
    public static var allCases: [EventType] { all }
}

/// A key as callers see it. `hint` is never more than the prefix and the
/// last four characters; the secret itself appears only in the answers to
/// `keys.create` and `keys.rotate`.
public struct KeyInfo: WireObject, Hashable {
    public var id: String
    public var organizationId: String
    public var name: String
    public var kind: String
    public var kindName: String
    public var capabilities: [String]
    public var usableCapabilities: [String]
    public var environment: String
    public var hint: String
    public var status: KeyStatus
    public var statusText: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    public var lastUsedText: String
    public var lastUsedOrigin: String?
    public var lastUsedIP: String?
    public var rateLimit: Int
    public var effectiveRateLimit: Int
    public var allowedOrigins: [String]
    public var usage: Usage
    public var previousSecrets: [PreviousSecretInfo]

    public static let fields: [WireField<KeyInfo>] = [
        .init("id", { $0.id }), .init("organizationId", { $0.organizationId }), .init("name", { $0.name }),
        .init("kind", { $0.kind }), .init("kindName", { $0.kindName }, "The kind's name in the request's language."),
        .init("capabilities", { $0.capabilities }),
        .init("usableCapabilities", { $0.usableCapabilities }, "The capabilities the key can use on its organization's plan now."),
        .init("environment", { $0.environment }), .init("hint", { $0.hint }, "The prefix and the last four characters; never the secret."),
        .init("status", { $0.status }), .init("statusText", { $0.statusText }, "The status in the request's language."),
        .init("createdAt", { $0.createdAt }), .init("expiresAt", { $0.expiresAt }, "null: the key never expires."),
        .init("lastUsedAt", { $0.lastUsedAt }, "null: never used."),
        .init("lastUsedText", { $0.lastUsedText }, "\"Never\", \"2 days ago\", in the request's language."),
        .init("lastUsedOrigin", { $0.lastUsedOrigin }, "The origin of the last valid use, as the gateway reported it, "
              + "invisible characters taken out and cut to 300 bytes; null if none was."),
        .init("lastUsedIP", { $0.lastUsedIP }, "The client IP of the last valid use, as the gateway reported it, "
              + "invisible characters taken out and cut to 300 bytes; null if none was."),
        .init("rateLimit", { $0.rateLimit }, "Requests per minute, as set on the key."),
        .init("effectiveRateLimit", { $0.effectiveRateLimit }, "The rate limit enforced now: the key's, clamped to the plan's ceiling."),
        .init("allowedOrigins", { $0.allowedOrigins }), .init("usage", { $0.usage }),
        .init("previousSecrets", { $0.previousSecrets }, "Earlier secrets a rotation with a grace period left working, "
              + "the soonest to stop first; empty when there are none, and always for a revoked or expired key."),
    ]

    public struct Usage: WireObject, Hashable {
        public var valid: Int
        public var invalid: Int

        public static let fields: [WireField<Usage>] = [.init("valid", { $0.valid }), .init("invalid", { $0.invalid })]
    }

    /// A secret a rotation replaced, still working until `expiresAt`.
    public struct PreviousSecretInfo: WireObject, Hashable {
        public var hint: String?
        public var expiresAt: Date

        public static let fields: [WireField<PreviousSecretInfo>] = [
            .init("hint", { $0.hint }, "The prefix and the last four characters; null for a secret rotated out "
                  + "by an earlier version of Keygate, which did not keep it."),
            .init("expiresAt", { $0.expiresAt }, "When it stops working."),
        ]
    }
}

/// An organization's subscription. `plan` is the plan in force, the one
/// every other answer (quotas, verification) applies; `billedPlan` is what
/// billing last named, which differs when the subscription is canceled.
public struct SubscriptionInfo: WireObject, Hashable {
    public var organizationId: String
    public var plan: String
    public var planName: String
    public var billedPlan: String
    public var status: SubscriptionStatus
    public var statusText: String
    public var periodStart: Date?
    public var periodEnd: Date?
    public var updatedAt: Date?

    public static let fields: [WireField<SubscriptionInfo>] = [
        .init("organizationId", { $0.organizationId }),
        .init("plan", { $0.plan }, oneOf: \.plans, "The plan in force: the one whose rules apply now."),
        .init("planName", { $0.planName }),
        .init("billedPlan", { $0.billedPlan }, "The plan billing last named; a canceled subscription falls back to the default plan."),
        .init("status", { $0.status }), .init("statusText", { $0.statusText }),
        .init("periodStart", { $0.periodStart }), .init("periodEnd", { $0.periodEnd }),
        .init("updatedAt", { $0.updatedAt }, "null: billing never named this organization."),
    ]
}

public struct QuotaInfo: WireObject, Hashable {
    public var id: String
    public var name: String
    public var limit: Int?
    public var used: Int
    public var remaining: Int?
    public var exceeded: Bool
    public var period: QuotaPeriod
    public var resetsAt: Date?

    public static let fields: [WireField<QuotaInfo>] = [
        .init("id", { $0.id }, oneOf: \.meters), .init("name", { $0.name }),
        .init("limit", { $0.limit }, "null: unlimited."), .init("used", { $0.used }),
        .init("remaining", { $0.remaining }, "null: unlimited; never below 0."),
        .init("exceeded", { $0.exceeded }, "Whether more is used than the limit allows."), .init("period", { $0.period }),
        .init("resetsAt", { $0.resetsAt }, "null: the quota never resets."),
    ]
}

public struct PlanInfo: WireObject, Hashable {
    public var id: String
    public var name: String
    public var apiKeys: APIKeys
    public var quotas: [Quota]

    public static let fields: [WireField<PlanInfo>] = [
        .init("id", { $0.id }, oneOf: \.plans), .init("name", { $0.name }), .init("apiKeys", { $0.apiKeys }), .init("quotas", { $0.quotas }),
    ]

    public struct APIKeys: WireObject, Hashable {
        public var enabled: Bool
        public var maxActiveKeys: Int?
        public var kinds: [String]
        public var capabilities: [String]
        public var rateLimit: RateLimit?
        public var maxLifetimeDays: Int?

        public static let fields: [WireField<APIKeys>] = [
            .init("enabled", { $0.enabled }), .init("maxActiveKeys", { $0.maxActiveKeys }, "null: unlimited."),
            .init("kinds", { $0.kinds }, eachOf: \.kinds), .init("capabilities", { $0.capabilities }, eachOf: \.capabilities),
            .init("rateLimit", { $0.rateLimit }, "null: the plan has no API keys."),
            .init("maxLifetimeDays", { $0.maxLifetimeDays }, "null: keys may live forever."),
        ]
    }

    public struct Quota: WireObject, Hashable {
        public var id: String
        public var limit: Int?
        public var period: QuotaPeriod

        public static let fields: [WireField<Quota>] = [
            .init("id", { $0.id }, oneOf: \.meters), .init("limit", { $0.limit }, "null: unlimited."), .init("period", { $0.period }),
        ]
    }
}

public struct RateLimit: WireObject, Hashable {
    public var `default`: Int
    public var max: Int

    public static let fields: [WireField<RateLimit>] = [
        .init("default", { $0.default }, "Requests per minute a key gets when none is asked for."),
        .init("max", { $0.max }, "The ceiling, in requests per minute."),
    ]
}

public struct CapabilityInfo: WireObject, Hashable {
    public var id: String
    public var description: String

    public static let fields: [WireField<CapabilityInfo>] = [
        .init("id", { $0.id }, oneOf: \.capabilities), .init("description", { $0.description }),
    ]
}

public struct KindInfo: WireObject, Hashable {
    public var id: String
    public var name: String
    public var capabilities: [String]

    public static let fields: [WireField<KindInfo>] = [
        .init("id", { $0.id }, oneOf: \.kinds), .init("name", { $0.name }), .init("capabilities", { $0.capabilities }, eachOf: \.capabilities),
    ]
}

public struct KindOptionInfo: WireObject, Hashable {
    public var id: String
    public var name: String
    public var capabilities: [CapabilityInfo]

    public static let fields: [WireField<KindOptionInfo>] = [
        .init("id", { $0.id }, oneOf: \.kinds), .init("name", { $0.name }), .init("capabilities", { $0.capabilities }),
    ]
}
