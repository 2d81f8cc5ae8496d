package import Foundation
package import KeygateJSON

/// A billing event, checked.
package struct CheckedBillingEvent {
    package let event: BillingEvent
    package let organizationId: String
    package let actor: String
    /// When it happened, to the millisecond stored.
    package let occurredAt: Int64

    /// The subscription after the event, from the one before it: a plan
    /// change without a period keeps the period billing gave before.
    package func applied(over current: SubscriptionRecord?, at now: Date) -> SubscriptionRecord {
        SubscriptionRecord(
            organizationId: organizationId, plan: event.plan, status: event.status ?? current?.status ?? .active,
            periodStart: (event.periodStart ?? current?.periodStart).map(StorageCoding.truncated),
            periodEnd: (event.periodEnd ?? current?.periodEnd).map(StorageCoding.truncated),
            lastEventAt: StorageCoding.date(occurredAt), updatedAt: now)
    }

    /// What the event says, as a store keeps it.
    package var delivery: BillingDelivery {
        BillingDelivery(organizationId: organizationId, occurredAt: occurredAt, plan: event.plan,
                        status: event.status?.rawValue, periodStart: event.periodStart.map(StorageCoding.milliseconds),
                        periodEnd: event.periodEnd.map(StorageCoding.milliseconds))
    }


    /// What the audit log keeps of the event's change.
    package func auditDetails(from current: SubscriptionRecord?, to updated: SubscriptionRecord) -> [String: JSON] {
        var details: [String: JSON] = [
            "eventId": .string(event.eventId),
            "plan": current.map { .change(from: .string($0.plan), to: .string(event.plan)) } ?? .string(event.plan),
            "status": .string(updated.status.rawValue),
            "occurredAt": .string(RFC3339.string(StorageCoding.date(occurredAt))),
        ]
        if let periodStart = updated.periodStart, let periodEnd = updated.periodEnd {
            details["period"] = [
                "start": .string(RFC3339.string(periodStart)), "end": .string(RFC3339.string(periodEnd)),
            ]
        }
        return details
    }
}
