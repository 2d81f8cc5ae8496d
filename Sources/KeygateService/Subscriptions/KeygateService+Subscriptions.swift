import Foundation
import KeyStore
import PlanCatalog

extension KeygateService {
    /// An organization's subscription; one billing never named is on the default plan.
    public func subscription(organizationId: String) throws(ServiceError) -> Subscription {
        try organizationPlan(organizationId).subscription
    }

    /// Applies a billing event: once per event id, and never over a newer
    /// one. An event dated further ahead of this clock than
    /// ``eventClockSkew`` is refused: applied, it would make every real
    /// event after it look stale.
    @discardableResult
    public func setPlan(_ request: SetPlanRequest) throws(ServiceError) -> SetPlanResult {
        guard catalog.plan(request.plan) != nil else {
            throw ServiceError(.unknownPlan, field: "plan", [
                "plan": request.plan.rawValue, "plans": catalog.plans.map(\.id.rawValue).joined(separator: ", "),
            ])
        }
        guard request.occurredAt.timeIntervalSince(clock.now()) <= eventClockSkew else {
            throw ServiceError(.eventInFuture, field: "occurredAt", ["seconds": "\(Int(eventClockSkew))"])
        }
        let event = BillingEvent(
            eventId: request.eventId, organizationId: request.organizationId, plan: request.plan.rawValue,
            status: request.status, periodStart: request.periodStart, periodEnd: request.periodEnd,
            occurredAt: request.occurredAt, actor: request.actor)
        let outcome = try store { () throws(KeyStoreError) in try storage.apply(event) }
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

    func organizationPlan(_ organizationId: String) throws(ServiceError) -> OrganizationPlan {
        let record = try store { () throws(KeyStoreError) in try storage.subscription(organizationId: organizationId) }
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
