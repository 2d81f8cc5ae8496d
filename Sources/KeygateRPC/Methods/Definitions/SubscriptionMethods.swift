public import Foundation
public import KeyStore
public import KeygateService

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
    public static let summary = "Billing moves an organization to a plan; idempotent per eventId (an id sent again with another event is event_id_reused), ordered by occurredAt."
    public static let errors = organizationErrors + [
        .unknownPlan, .invalidEventId, .eventIdReused, .eventInFuture, .invalidPeriod, .invalidActor,
    ]
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
            .init("subscription", { $0.subscription }), .init("applied", { $0.applied }),
            .init("reason", { $0.reason }, "null when applied."),
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
            .init("from", { $0.from }, oneOf: \.plans), .init("to", { $0.to }, oneOf: \.plans),
            .init("suspendedKeys", { $0.suspendedKeys }, "Keys working now that the plan would suspend."),
            .init("restoredKeys", { $0.restoredKeys }, "Keys suspended now that the plan would bring back."),
            .init("lostCapabilities", { $0.lostCapabilities }, "Keys that keep working but lose capabilities they use now."),
            .init("capabilitiesLost", { $0.capabilitiesLost },
                  "Every capability the organization's keys can use now and could not on the plan, suspended keys included."),
            .init("quotaChanges", { $0.quotaChanges }),
        ]
    }
    public struct LostCapabilities: WireObject {
        public var keyId: String
        public var capabilities: [String]
        public static let fields: [WireField<LostCapabilities>] = [
            .init("keyId", { $0.keyId }), .init("capabilities", { $0.capabilities }),
        ]
    }
    public struct QuotaChange: WireObject {
        public var id: String
        public var from: PlanInfo.Quota?
        public var to: PlanInfo.Quota?
        public static let fields: [WireField<QuotaChange>] = [
            .init("id", { $0.id }, oneOf: \.meters), .init("from", { $0.from }), .init("to", { $0.to }),
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
            .init("plan", { $0.plan }, oneOf: \.plans, "The plan in force, whose quotas these are."),
            .init("planName", { $0.planName }), .init("billedPlan", { $0.billedPlan }, "The plan billing last named."),
            .init("status", { $0.status }), .init("periodStart", { $0.periodStart }), .init("periodEnd", { $0.periodEnd }),
            .init("quotas", { $0.quotas }),
        ]
    }
}
