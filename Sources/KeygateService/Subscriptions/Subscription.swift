public import Foundation
public import KeyStore
public import PlanCatalog

/// An organization's subscription as callers see it.
public struct Subscription: Sendable, Hashable {
    public let organizationId: String
    /// The plan in force: the one whose rules apply now (see
    /// ``OrganizationPlan``). Every answer names this one.
    public let plan: PlanID
    /// The plan billing last named (the default plan if it never named one).
    /// It differs from ``plan`` when the subscription is canceled or the
    /// catalog no longer has that plan.
    public let billedPlan: PlanID
    public let status: SubscriptionStatus
    public let periodStart: Date?
    public let periodEnd: Date?
    /// `nil` for an organization billing never named.
    public let updatedAt: Date?
}

/// The plan whose rules apply to an organization now.
///
/// That is the plan billing named, except that a canceled subscription, or a
/// plan the catalog no longer has, falls back to the catalog's default plan:
/// an organization never keeps paid features it no longer pays for.
struct OrganizationPlan: Sendable {
    let subscription: Subscription
    let plan: Plan
}

/// What billing asks for: a plan change, idempotent per event id.
public struct SetPlanRequest: Sendable, Hashable {
    public var organizationId: String
    public var plan: PlanID
    public var eventId: String
    public var occurredAt: Date
    public var status: SubscriptionStatus?
    public var periodStart: Date?
    public var periodEnd: Date?
    public var actor: String?

    public init(
        organizationId: String, plan: PlanID, eventId: String, occurredAt: Date,
        status: SubscriptionStatus? = nil, periodStart: Date? = nil, periodEnd: Date? = nil, actor: String? = nil
    ) {
        self.organizationId = organizationId
        self.plan = plan
        self.eventId = eventId
        self.occurredAt = occurredAt
        self.status = status
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.actor = actor
    }
}

public struct SetPlanResult: Sendable, Hashable {
    public let subscription: Subscription
    public let applied: Bool
    /// Why it was not applied.
    public let reason: NotApplied?

    public enum NotApplied: String, Sendable, Hashable {
        case duplicateEvent = "duplicate_event"
        case staleEvent = "stale_event"
    }
}
