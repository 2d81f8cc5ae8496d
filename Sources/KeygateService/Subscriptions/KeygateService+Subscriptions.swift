import Foundation
import KeyStore
import KeygateJSON
import PlanCatalog

extension KeygateService {
    /// An organization's subscription; one billing never named is on the default plan.
    public func subscription(organizationId: String) throws(ServiceError) -> Subscription {
        try organizationPlan(organizationId).subscription
    }

    /// The refusal of a plan the catalog lacks, listing its plans; the name
    /// given is echoed as any input is (a key pasted there only as its hint).
    func unknownPlan(_ plan: PlanID) -> ServiceError {
        ServiceError(.unknownPlan, field: "plan", [
            "plan": keyFormat.redacted(plan.rawValue), "plans": catalog.plans.map(\.id.rawValue).joined(separator: ", "),
        ])
    }

    /// Applies a billing event: once per event id, and never over a newer
    /// one. An event dated further ahead of this clock than
    /// ``eventClockSkew`` is refused: applied, it would make every real
    /// event after it look stale.
    @discardableResult
    public func setPlan(_ request: SetPlanRequest) throws(ServiceError) -> SetPlanResult {
        guard catalog.plan(request.plan) != nil else { throw unknownPlan(request.plan) }
        guard request.occurredAt.timeIntervalSince(clock.now()) <= eventClockSkew else {
            throw ServiceError(.eventInFuture, field: "occurredAt", ["seconds": "\(Int(eventClockSkew))"])
        }
        let event = BillingEvent(
            eventId: request.eventId, organizationId: request.organizationId, plan: request.plan.rawValue,
            status: request.status, periodStart: request.periodStart, periodEnd: request.periodEnd,
            occurredAt: request.occurredAt, actor: request.actor)
        // The change and the events of the keys it suspends or restores commit together.
        let outcome = try atomically { service throws(ServiceError) in try service.apply(event) }
        return switch outcome {
        case .applied(let record):
            SetPlanResult(subscription: view(record, organizationId: request.organizationId), applied: true, reason: nil)
        case .duplicate(let record):
            SetPlanResult(subscription: view(record, organizationId: request.organizationId), applied: false,
                          reason: .duplicateEvent)
        case .stale(let record):
            SetPlanResult(subscription: view(record, organizationId: request.organizationId), applied: false,
                          reason: .staleEvent)
        }
    }

    /// Applies a billing event and, when it changes the plan in force,
    /// records that change and which keys it suspends and restores (one
    /// event each).
    private func apply(_ event: BillingEvent) throws(ServiceError) -> BillingOutcome {
        let current = try organizationPlan(event.organizationId)
        let before = current.plan
        let outcome = try store { () throws(KeyStoreError) in try storage.apply(event) }
        guard case .applied(let record) = outcome else { return outcome }
        let subscription = view(record, organizationId: event.organizationId)
        let after = catalog.plan(subscription.plan) ?? catalog.defaultPlan
        let plans: [String: JSON] = ["plan": .string(after.id.rawValue), "previousPlan": .string(before.id.rawValue)]
        // The change itself first, then what it does to quotas and keys.
        if after.id != before.id {
            let data = plans.merging(["billedPlan": .string(subscription.billedPlan.rawValue),
                                      "status": .string(subscription.status.rawValue)]) { $1 }
            try store { () throws(KeyStoreError) in
                try storage.appendEvent(NewEvent(type: .planChanged, organizationId: event.organizationId, data: data))
            }
        }
        try settleQuotas(organizationId: event.organizationId, from: (before, current.subscription.periodStart),
                         to: (after, subscription.periodStart))
        guard after.id != before.id else { return outcome }
        let changes = try statusChanges(organizationId: event.organizationId, from: before, to: after)
        for (type, keys) in [(EventType.keysSuspended, changes.suspended), (.keysRestored, changes.restored)] where !keys.isEmpty {
            try store { () throws(KeyStoreError) in
                try storage.appendEvent(NewEvent(type: type, organizationId: event.organizationId,
                                                 data: plans.merging(["keyIds": .strings(keys)]) { $1 }))
            }
        }
        return outcome
    }

    func organizationPlan(_ organizationId: String) throws(ServiceError) -> OrganizationPlan {
        let record = try store { () throws(KeyStoreError) in try storage.subscription(organizationId: organizationId) }
        return organizationPlan(record, organizationId: organizationId)
    }

    /// The plan in force for a subscription as stored (`nil`: billing never named the organization).
    func organizationPlan(_ record: SubscriptionRecord?, organizationId: String) -> OrganizationPlan {
        let subscription = view(record, organizationId: organizationId)
        return OrganizationPlan(subscription: subscription, plan: catalog.plan(subscription.plan) ?? catalog.defaultPlan)
    }

    /// The one rule for the plan in force: what billing named, unless the
    /// subscription is canceled or the catalog no longer has that plan.
    private func view(_ record: SubscriptionRecord?, organizationId: String) -> Subscription {
        guard let record else {
            return Subscription(
                organizationId: organizationId, plan: catalog.defaultPlan.id, billedPlan: catalog.defaultPlan.id,
                status: .active, periodStart: nil, periodEnd: nil, updatedAt: nil)
        }
        let billed = PlanID(record.plan)
        let inForce = record.status == .canceled ? catalog.defaultPlan : catalog.plan(billed) ?? catalog.defaultPlan
        return Subscription(
            organizationId: record.organizationId, plan: inForce.id, billedPlan: billed, status: record.status,
            periodStart: record.periodStart, periodEnd: record.periodEnd, updatedAt: record.updatedAt)
    }
}
