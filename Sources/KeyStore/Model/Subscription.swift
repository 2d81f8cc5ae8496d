public import Foundation

/// What billing last said about an organization. The store keeps the plan
/// as an id and never interprets it.
public struct SubscriptionRecord: Sendable, Hashable {
    public let organizationId: String
    public let plan: String
    public let status: SubscriptionStatus
    public let periodStart: Date?
    public let periodEnd: Date?
    /// When the last applied billing event happened (its own time).
    public let lastEventAt: Date
    public let updatedAt: Date

    /// For the stores of this package, which build it from what they read.
    package init(organizationId: String, plan: String, status: SubscriptionStatus, periodStart: Date?, periodEnd: Date?,
                 lastEventAt: Date, updatedAt: Date) {
        self.organizationId = organizationId
        self.plan = plan
        self.status = status
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.lastEventAt = lastEventAt
        self.updatedAt = updatedAt
    }
}

public enum SubscriptionStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case active
    case trialing
    case pastDue = "past_due"
    case canceled
}

/// A change of plan from the billing system.
public struct BillingEvent: Sendable, Hashable {
    /// Unique per event; a replay of the same id changes nothing.
    public var eventId: String
    public var organizationId: String
    public var plan: String
    /// `nil` keeps the current status (`active` for a new subscription).
    public var status: SubscriptionStatus?
    public var periodStart: Date?
    public var periodEnd: Date?
    /// When billing says it happened; an event older than the last applied
    /// one arrives too late and changes nothing.
    public var occurredAt: Date
    public var actor: String?

    public init(
        eventId: String, organizationId: String, plan: String, status: SubscriptionStatus? = nil,
        periodStart: Date? = nil, periodEnd: Date? = nil, occurredAt: Date, actor: String? = nil
    ) {
        self.eventId = eventId
        self.organizationId = organizationId
        self.plan = plan
        self.status = status
        self.periodStart = periodStart
        self.periodEnd = periodEnd
        self.occurredAt = occurredAt
        self.actor = actor
    }
}

/// What applying a billing event did.
public enum BillingOutcome: Sendable, Hashable {
    case applied(SubscriptionRecord)
    /// This event id was seen before; the subscription is as it was.
    case duplicate(SubscriptionRecord?)
    /// A newer event was applied already; the subscription is as it was.
    case stale(SubscriptionRecord?)
}

/// A meter's count for one organization and period, as a write after some
/// count version left it (``SubscriptionStorage/meterChanges(meter:after:through:)``).
public struct MeterChange: Sendable, Hashable {
    public let organizationId: String
    public let meter: String
    /// Identifies the period: its start, in the service's reckoning.
    public let periodStart: Date
    public let used: Int

    /// For the stores of this package, which build it from what they read.
    package init(organizationId: String, meter: String, periodStart: Date, used: Int) {
        self.organizationId = organizationId
        self.meter = meter
        self.periodStart = periodStart
        self.used = used
    }
}

/// A count on a meter for one quota period.
public struct MeterReading: Sendable, Hashable {
    public let meter: String
    /// Identifies the period: its start, in the service's reckoning.
    public let periodStart: Date
    public let used: Int

    /// For the stores of this package, which build it from what they read.
    package init(meter: String, periodStart: Date, used: Int) {
        self.meter = meter
        self.periodStart = periodStart
        self.used = used
    }
}
