public import Foundation
public import KeyStore
public import KeygateJSON
public import KeygateService

// Every method of the contract (docs/PROTOCOL.md): its name, summary, the
// types of its params and result, and the error codes it can answer. The
// handlers are in KeygateMethods; rpc.discover is generated from these.

/// Error codes that a method working on one organization can answer.
private let organizationErrors: [ServiceError.Code] = [.invalidOrganizationId, .storageFailure]

public enum CatalogPlans: RPCMethod {
    public static let name = "catalog.plans"
    public static let summary = "The plans of the catalog and what each allows."
    public struct Params: Decodable, Sendable {}
    public struct Result: WireObject {
        public var defaultPlan: String
        public var plans: [PlanInfo]
        public static let fields: [WireField<Result>] = [
            .init("defaultPlan", \.defaultPlan, oneOf: \.plans), .init("plans", \.plans),
        ]
    }
}

public enum CatalogCapabilities: RPCMethod {
    public static let name = "catalog.capabilities"
    public static let summary = "The capabilities keys may carry and the kinds of keys."
    public struct Params: Decodable, Sendable {}
    public struct Result: WireObject {
        public var capabilities: [CapabilityInfo]
        public var kinds: [KindInfo]
        public static let fields: [WireField<Result>] = [.init("capabilities", \.capabilities), .init("kinds", \.kinds)]
    }
}

public enum GetSubscription: RPCMethod {
    public static let name = "subscriptions.get"
    public static let summary = "An organization's plan in force, what billing named and its status; one billing never named is on the default plan."
    public static let errors = organizationErrors
    public struct Params: Decodable, Sendable {
        public var organizationId: String
    }
    public typealias Result = SubscriptionInfo
}

public enum SetPlan: RPCMethod {
    public static let name = "subscriptions.setPlan"
    public static let writes = true
    public static let summary = "Billing moves an organization to a plan; idempotent per eventId, ordered by occurredAt."
    public static let errors = organizationErrors + [.unknownPlan, .invalidEventId, .eventInFuture, .invalidPeriod, .invalidActor]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var plan: String
        public var eventId: String
        public var occurredAt: Date
        public var status: SubscriptionStatus?
        public var periodStart: Date?
        public var periodEnd: Date?
        public var actor: String?
    }
    /// Why an event changed nothing.
    public enum NotApplied: String, WireEnum {
        case duplicateEvent = "duplicate_event"
        case staleEvent = "stale_event"
    }
    public struct Result: WireObject {
        public var subscription: SubscriptionInfo
        public var applied: Bool
        public var reason: NotApplied?
        public static let fields: [WireField<Result>] = [
            .init("subscription", \.subscription), .init("applied", \.applied),
            .init("reason", \.reason, "null when applied."),
        ]
    }
}

public enum PreviewPlan: RPCMethod {
    public static let name = "subscriptions.preview"
    public static let summary = "What moving an organization to a plan would suspend, restore and take away; changes nothing."
    public static let errors = organizationErrors + [.unknownPlan]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var plan: String
    }
    public struct Result: WireObject {
        public var from: String
        public var to: String
        public var suspendedKeys: [String]
        public var restoredKeys: [String]
        public var lostCapabilities: [LostCapabilities]
        public var capabilitiesLost: [String]
        public var quotaChanges: [QuotaChange]
        public static let fields: [WireField<Result>] = [
            .init("from", \.from, oneOf: \.plans), .init("to", \.to, oneOf: \.plans),
            .init("suspendedKeys", \.suspendedKeys, "Keys working now that the plan would suspend."),
            .init("restoredKeys", \.restoredKeys, "Keys suspended now that the plan would bring back."),
            .init("lostCapabilities", \.lostCapabilities, "Keys that keep working but lose capabilities they use now."),
            .init("capabilitiesLost", \.capabilitiesLost,
                  "Every capability the organization's keys can use now and could not on the plan, suspended keys included."),
            .init("quotaChanges", \.quotaChanges),
        ]
    }
    public struct LostCapabilities: WireObject {
        public var keyId: String
        public var capabilities: [String]
        public static let fields: [WireField<LostCapabilities>] = [
            .init("keyId", \.keyId), .init("capabilities", \.capabilities),
        ]
    }
    public struct QuotaChange: WireObject {
        public var id: String
        public var from: PlanInfo.Quota?
        public var to: PlanInfo.Quota?
        public static let fields: [WireField<QuotaChange>] = [
            .init("id", \.id, oneOf: \.meters), .init("from", \.from), .init("to", \.to),
        ]
    }
}

public enum GetQuotas: RPCMethod {
    public static let name = "subscriptions.quotas"
    public static let summary = "Plan in force, status, period and every quota with what is used; by organization, or by a key carrying subscription.read."
    public static let errors = organizationErrors + [.invalidKey, .planSuspended, .insufficientCapability]
    public struct Params: Decodable, Sendable {
        public var organizationId: String?
        public var key: String?
    }
    public struct Result: WireObject {
        public var plan: String
        public var planName: String
        public var billedPlan: String
        public var status: SubscriptionStatus
        public var periodStart: Date?
        public var periodEnd: Date?
        public var quotas: [QuotaInfo]
        public static let fields: [WireField<Result>] = [
            .init("plan", \.plan, oneOf: \.plans, "The plan in force, whose quotas these are."),
            .init("planName", \.planName), .init("billedPlan", \.billedPlan, "The plan billing last named."),
            .init("status", \.status), .init("periodStart", \.periodStart), .init("periodEnd", \.periodEnd),
            .init("quotas", \.quotas),
        ]
    }
}

public enum CreateKey: RPCMethod {
    public static let name = "keys.create"
    public static let writes = true
    public static let summary = "Creates a key if the plan allows it; the only answer that carries its secret."
    public static let errors = organizationErrors + [
        .invalidName, .unknownKind, .invalidCapabilities, .unknownCapability, .unknownEnvironment, .invalidRateLimit,
        .invalidOrigin, .tooManyOrigins, .invalidExpiry, .invalidActor, .planForbidsAPIKeys, .kindNotAllowed,
        .capabilityNotAllowed, .capabilityNotAllowedForKind, .keyLimitReached, .rateLimitAbovePlan, .lifetimeAbovePlan,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var name: String
        public var kind: String
        public var capabilities: [String]
        public var expiresAt: Date?
        public var rateLimit: Int?
        public var allowedOrigins: [String]?
        public var environment: String?
        public var actor: String?
    }
    public struct Result: WireObject {
        public var key: KeyInfo
        public var secret: String
        public static let fields: [WireField<Result>] = [
            .init("key", \.key), .init("secret", \.secret, "The raw key: shown this once, never stored."),
        ]
    }
}

public enum KeyOptionsMethod: RPCMethod {
    public static let name = "keys.options"
    public static let summary = "What the create dialog may offer the organization now, by the same gates as keys.create."
    public static let errors = organizationErrors
    public struct Params: Decodable, Sendable {
        public var organizationId: String
    }
    public struct Result: WireObject {
        public var canCreate: Bool
        public var reason: String?
        public var reasonCode: String?
        public var kinds: [KindOptionInfo]
        public var rateLimit: RateLimit?
        public var maxLifetimeDays: Int?
        public var activeKeys: Int
        public var maxActiveKeys: Int?
        public static let fields: [WireField<Result>] = [
            .init("canCreate", \.canCreate), .init("reason", \.reason, "Why not, in the request's language; null when it can."),
            .init("reasonCode", \.reasonCode, "The error code keys.create would answer; null when it can."),
            .init("kinds", \.kinds), .init("rateLimit", \.rateLimit), .init("maxLifetimeDays", \.maxLifetimeDays),
            .init("activeKeys", \.activeKeys), .init("maxActiveKeys", \.maxActiveKeys, "null: unlimited."),
        ]
    }
}

public enum ListKeys: RPCMethod {
    public static let name = "keys.list"
    public static let summary = "A page of the organization's keys, newest first, with usage; never a secret."
    public static let errors = organizationErrors + [.invalidCursor, .invalidLimit]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var status: KeyStatus?
        public var cursor: String?
        public var limit: Int?
    }
    public struct Result: WireObject {
        public var keys: [KeyInfo]
        public var nextCursor: String?
        public static let fields: [WireField<Result>] = [
            .init("keys", \.keys), .init("nextCursor", \.nextCursor, "null on the last page."),
        ]
    }
}

public enum GetKey: RPCMethod {
    public static let name = "keys.get"
    public static let summary = "One key of the organization."
    public static let errors = organizationErrors + [.notFound]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
    }
    public typealias Result = KeyInfo
}

public enum UpdateKey: RPCMethod {
    public static let name = "keys.update"
    public static let writes = true
    public static let summary = "Changes a key's name, capabilities, rate limit, allowed origins or expiry, within the plan."
    public static let errors = organizationErrors + [
        .notFound, .invalidName, .invalidCapabilities, .unknownCapability, .invalidRateLimit, .invalidOrigin,
        .tooManyOrigins, .invalidExpiry, .invalidActor, .keyRevoked, .planForbidsAPIKeys, .capabilityNotAllowed,
        .capabilityNotAllowedForKind, .rateLimitAbovePlan, .lifetimeAbovePlan,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var name: String?
        public var capabilities: [String]?
        public var rateLimit: Int?
        public var allowedOrigins: [String]?
        public var expiresAt: Date?
        public var actor: String?
    }
    public typealias Result = KeyInfo
}

public enum RotateKey: RPCMethod {
    public static let name = "keys.rotate"
    public static let writes = true
    public static let summary = "A new secret for the same key; the previous one stops at once or after the grace period."
    public static let errors = organizationErrors + [
        .notFound, .invalidGracePeriod, .invalidActor, .keyRevoked, .keyExpired, .keySuspended, .planForbidsAPIKeys,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var gracePeriodSeconds: Int?
        public var actor: String?
    }
    public struct Result: WireObject {
        public var key: KeyInfo
        public var secret: String
        public var previousSecretExpiresAt: Date?
        public static let fields: [WireField<Result>] = [
            .init("key", \.key), .init("secret", \.secret, "The new raw key: shown this once, never stored."),
            .init("previousSecretExpiresAt", \.previousSecretExpiresAt, "null: the previous secret stopped at once."),
        ]
    }
}

public enum RevokeKey: RPCMethod {
    public static let name = "keys.revoke"
    public static let writes = true
    public static let summary = "Revokes a key at once and for good; the record stays."
    public static let errors = organizationErrors + [.notFound, .invalidActor]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var actor: String?
    }
    public typealias Result = KeyInfo
}

public enum DeleteKey: RPCMethod {
    public static let name = "keys.delete"
    public static let writes = true
    public static let summary = "Deletes a key and its usage; the audit log keeps that it happened."
    public static let errors = organizationErrors + [.notFound, .invalidActor]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var actor: String?
    }
    public struct Result: WireObject {
        public var deleted: Bool
        public static let fields: [WireField<Result>] = [.init("deleted", \.deleted)]
    }
}

public enum VerifyKey: RPCMethod {
    public static let name = "keys.verify"
    public static let summary = "Is this key valid for this request: capability or route, origin, rate limit and quota. A denial is a result."
    public static let errors: [ServiceError.Code] = [.invalidAmount, .storageFailure]
    public struct Params: Decodable, Sendable {
        public var key: String?
        public var authorization: String?
        public var capability: String?
        public var method: String?
        public var path: String?
        public var origin: String?
        public var ip: String?
        public var cost: Int?
    }
    public struct Result: WireObject {
        public var valid: Bool
        public var code: VerifyOutcome
        public var httpStatus: Int
        public var message: String
        public var organizationId: String?
        public var keyId: String?
        public var kind: String?
        public var capabilities: [String]?
        public var rateLimit: RateLimitState?
        public var retryAfter: Int?
        public var quota: QuotaState?
        public static let fields: [WireField<Result>] = [
            .init("valid", \.valid), .init("code", \.code, "The first check that failed, or valid."),
            .init("httpStatus", \.httpStatus, "What the gateway should answer: 200, 401, 403 or 429."),
            .init("message", \.message, "In the request's language."),
            .init("organizationId", \.organizationId, "null when no key was found."), .init("keyId", \.keyId),
            .init("kind", \.kind),
            .init("capabilities", \.capabilities, "What the key can use on its plan now; null unless valid."),
            .init("rateLimit", \.rateLimit, "null until the rate limit was checked."),
            .init("retryAfter", \.retryAfter, "Seconds until a retry can succeed: when rate limited or over quota."),
            .init("quota", \.quota, "The request quota; null until it was checked or when the plan has none."),
        ]
    }
    public struct RateLimitState: WireObject {
        public var limit: Int
        public var remaining: Int
        public var resetAt: Date
        public static let fields: [WireField<RateLimitState>] = [
            .init("limit", \.limit, "Requests per minute."), .init("remaining", \.remaining),
            .init("resetAt", \.resetAt, "When the full allowance is back."),
        ]
    }
    public struct QuotaState: WireObject {
        public var id: String
        public var limit: Int?
        public var remaining: Int?
        public var resetsAt: Date?
        public static let fields: [WireField<QuotaState>] = [
            .init("id", \.id, oneOf: \.meters), .init("limit", \.limit, "null: unlimited."),
            .init("remaining", \.remaining, "null: unlimited."), .init("resetsAt", \.resetsAt, "null: never resets."),
        ]
    }
}

public enum RecordUsage: RPCMethod {
    public static let name = "usage.record"
    public static let writes = true
    public static let summary = "Adds to a meter the product reports, once per idempotency key; with reserve, only if it fits the quota."
    public static let errors = organizationErrors + [
        .unknownMeter, .meterNotRecordable, .invalidAmount, .invalidIdempotencyKey, .idempotencyKeyReused, .quotaExceeded,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var meter: String
        public var amount: Int
        public var idempotencyKey: String
        public var reserve: Bool?
    }
    public typealias Result = QuotaInfo
}

public enum GetUsage: RPCMethod {
    public static let name = "usage.get"
    public static let summary = "Verification counts per UTC day (YYYY-MM-DD, inclusive), for one key or the organization."
    public static let errors = organizationErrors + [.invalidDateRange]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String?
        public var from: String
        public var to: String
    }
    public struct Result: WireObject {
        public var days: [Day]
        public static let fields: [WireField<Result>] = [.init("days", \.days)]
    }
    public struct Day: WireObject {
        public var date: String
        public var keyId: String?
        public var valid: Int
        public var invalid: Int
        public static let fields: [WireField<Day>] = [
            .init("date", \.date, "YYYY-MM-DD, UTC."), .init("keyId", \.keyId, "null: the whole organization."),
            .init("valid", \.valid), .init("invalid", \.invalid),
        ]
    }
}

public enum ListAudit: RPCMethod {
    public static let name = "audit.list"
    public static let summary = "The organization's audit log, newest first."
    public static let errors = organizationErrors + [.invalidCursor, .invalidLimit]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var cursor: String?
        public var limit: Int?
    }
    public struct Result: WireObject {
        public var entries: [Entry]
        public var nextCursor: String?
        public static let fields: [WireField<Result>] = [
            .init("entries", \.entries), .init("nextCursor", \.nextCursor, "null on the last page."),
        ]
    }
    public struct Entry: WireObject {
        public var at: Date
        public var actor: String
        public var action: String
        public var keyId: String?
        public var details: JSON
        public static let fields: [WireField<Entry>] = [
            .init("at", \.at), .init("actor", \.actor), .init("action", \.action),
            .init("keyId", \.keyId, "null for subscription changes."),
            .init("details", \.details, "What changed; members differ by action."),
        ]
    }
}
