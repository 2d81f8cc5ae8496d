public import Foundation

// Every method of the RPC contract (shared/RPC.md): its name, summary and the
// types of its params and result. The handlers are in KeygateMethods.

public enum CatalogPlans: RPCMethod {
    public static let name = "catalog.plans"
    public static let summary = "The plans of the catalog and what each allows."
    public struct Params: Codable, Sendable {}
    public struct Result: Codable, Sendable {
        public var defaultPlan: String
        public var plans: [PlanInfo]
    }
}

public enum CatalogCapabilities: RPCMethod {
    public static let name = "catalog.capabilities"
    public static let summary = "The capabilities keys may carry and the kinds of keys."
    public struct Params: Codable, Sendable {}
    public struct Result: Codable, Sendable {
        public var capabilities: [CapabilityInfo]
        public var kinds: [KindInfo]
    }
}

public enum GetSubscription: RPCMethod {
    public static let name = "subscriptions.get"
    public static let summary = "An organization's plan and status; one billing never named is on the default plan."
    public struct Params: Codable, Sendable {
        public var organizationId: String
    }
    public typealias Result = SubscriptionInfo
}

public enum SetPlan: RPCMethod {
    public static let name = "subscriptions.setPlan"
    public static let writes = true
    public static let summary = "Billing moves an organization to a plan; idempotent per eventId, ordered by occurredAt."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var plan: String
        public var eventId: String
        public var occurredAt: Date
        public var status: String?
        public var periodStart: Date?
        public var periodEnd: Date?
        public var actor: String?
    }
    public struct Result: Codable, Sendable {
        public var subscription: SubscriptionInfo
        public var applied: Bool
        /// `duplicate_event` or `stale_event` when not applied.
        public var reason: String?
    }
}

public enum PreviewPlan: RPCMethod {
    public static let name = "subscriptions.preview"
    public static let summary = "What moving an organization to a plan would suspend, restore and take away; changes nothing."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var plan: String
    }
    public struct Result: Codable, Sendable {
        public var from: String
        public var to: String
        public var suspendedKeys: [String]
        public var restoredKeys: [String]
        public var lostCapabilities: [LostCapabilities]
        public var quotaChanges: [QuotaChange]
    }
    public struct LostCapabilities: Codable, Sendable {
        public var keyId: String
        public var capabilities: [String]
    }
    public struct QuotaChange: Codable, Sendable {
        public var id: String
        public var from: PlanInfo.Quota?
        public var to: PlanInfo.Quota?
    }
}

public enum GetQuotas: RPCMethod {
    public static let name = "subscriptions.quotas"
    public static let summary = "Plan, status, period and every quota with what is used; by organization, or by a key carrying subscription.read."
    public struct Params: Codable, Sendable {
        public var organizationId: String?
        public var key: String?
    }
    public struct Result: Codable, Sendable {
        public var plan: String
        public var planName: String
        public var status: String
        public var periodStart: Date?
        public var periodEnd: Date?
        public var quotas: [QuotaInfo]
    }
}

public enum CreateKey: RPCMethod {
    public static let name = "keys.create"
    public static let writes = true
    public static let summary = "Creates a key if the plan allows it; the only answer that carries its secret."
    public struct Params: Codable, Sendable {
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
    public struct Result: Codable, Sendable {
        public var key: KeyInfo
        public var secret: String
    }
}

public enum KeyOptionsMethod: RPCMethod {
    public static let name = "keys.options"
    public static let summary = "What the create dialog may offer the organization now, by the same gates as keys.create."
    public struct Params: Codable, Sendable {
        public var organizationId: String
    }
    public struct Result: Codable, Sendable {
        public var canCreate: Bool
        public var reason: String?
        public var reasonCode: String?
        public var kinds: [KindOptionInfo]
        public var rateLimit: RateLimit?
        public var maxLifetimeDays: Int?
        public var activeKeys: Int
        public var maxActiveKeys: Int?
    }
}

public enum ListKeys: RPCMethod {
    public static let name = "keys.list"
    public static let summary = "A page of the organization's keys, newest first, with usage; never a secret."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var status: String?
        public var cursor: String?
        public var limit: Int?
    }
    public struct Result: Codable, Sendable {
        public var keys: [KeyInfo]
        public var nextCursor: String?
    }
}

public enum GetKey: RPCMethod {
    public static let name = "keys.get"
    public static let summary = "One key of the organization."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var keyId: String
    }
    public typealias Result = KeyInfo
}

public enum UpdateKey: RPCMethod {
    public static let name = "keys.update"
    public static let writes = true
    public static let summary = "Changes a key's name, capabilities, rate limit or allowed origins, within the plan."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var name: String?
        public var capabilities: [String]?
        public var rateLimit: Int?
        public var allowedOrigins: [String]?
        public var actor: String?
    }
    public typealias Result = KeyInfo
}

public enum RotateKey: RPCMethod {
    public static let name = "keys.rotate"
    public static let writes = true
    public static let summary = "A new secret for the same key; the previous one stops at once or after the grace period."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var gracePeriodSeconds: Int?
        public var actor: String?
    }
    public struct Result: Codable, Sendable {
        public var key: KeyInfo
        public var secret: String
        public var previousSecretExpiresAt: Date?
    }
}

public enum RevokeKey: RPCMethod {
    public static let name = "keys.revoke"
    public static let writes = true
    public static let summary = "Revokes a key at once and for good; the record stays."
    public struct Params: Codable, Sendable {
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
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var actor: String?
    }
    public struct Result: Codable, Sendable {
        public var deleted: Bool
    }
}

public enum VerifyKey: RPCMethod {
    public static let name = "keys.verify"
    public static let summary = "Is this key valid for this request: capability or route, origin, rate limit and quota. A denial is a result."
    public struct Params: Codable, Sendable {
        public var key: String?
        public var authorization: String?
        public var capability: String?
        public var method: String?
        public var path: String?
        public var origin: String?
        public var ip: String?
        public var cost: Int?
    }
    public struct Result: Codable, Sendable {
        public var valid: Bool
        public var code: String
        public var httpStatus: Int
        public var message: String
        public var organizationId: String?
        public var keyId: String?
        public var kind: String?
        public var capabilities: [String]?
        public var rateLimit: RateLimitState?
        public var retryAfter: Int?
        public var quota: QuotaState?
    }
    public struct RateLimitState: Codable, Sendable {
        public var limit: Int
        public var remaining: Int
        public var resetAt: Date
    }
    public struct QuotaState: Codable, Sendable {
        public var id: String
        public var limit: Int?
        public var remaining: Int?
        public var resetsAt: Date?
    }
}

public enum RecordUsage: RPCMethod {
    public static let name = "usage.record"
    public static let writes = true
    public static let summary = "Adds to a meter the product reports, once per idempotency key; answers the meter's quota state."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var meter: String
        public var amount: Int
        public var idempotencyKey: String
    }
    public typealias Result = QuotaInfo
}

public enum GetUsage: RPCMethod {
    public static let name = "usage.get"
    public static let summary = "Verification counts per UTC day (YYYY-MM-DD, inclusive), for one key or the organization."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var keyId: String?
        public var from: String
        public var to: String
    }
    public struct Result: Codable, Sendable {
        public var days: [Day]
    }
    public struct Day: Codable, Sendable {
        public var date: String
        public var keyId: String?
        public var valid: Int
        public var invalid: Int
    }
}

public enum ListAudit: RPCMethod {
    public static let name = "audit.list"
    public static let summary = "The organization's audit log, newest first."
    public struct Params: Codable, Sendable {
        public var organizationId: String
        public var cursor: String?
        public var limit: Int?
    }
    public struct Result: Codable, Sendable {
        public var entries: [Entry]
        public var nextCursor: String?
    }
    public struct Entry: Codable, Sendable {
        public var at: Date
        public var actor: String
        public var action: String
        public var keyId: String?
        public var details: JSON
    }
}
