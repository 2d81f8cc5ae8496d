import Foundation
import KeyStore
import PlanCatalog

extension KeygateService {
    /// An organization's subscription; one billing never named is on the default plan.
    public func subscription(organizationId: String) throws(ServiceError) -> Subscription {
        try organizationPlan(organizationId).subscription
    }

    /// Applies a billing event: once per event id, and never over a newer one.
    public func setPlan(_ request: SetPlanRequest) throws(ServiceError) -> SetPlanResult {
        guard catalog.plan(request.plan) != nil else {
            throw ServiceError(.unknownPlan, field: "plan", [
                "plan": request.plan.rawValue, "plans": catalog.plans.map(\.id.rawValue).joined(separator: ", "),
            ])
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
                          reason: "duplicate_event")
        case .stale(let record):
            SetPlanResult(subscription: view(record, organizationId: request.organizationId), applied: false,
                          reason: "stale_event")
        }
    }

    func organizationPlan(_ organizationId: String) throws(ServiceError) -> OrganizationPlan {
        let record = try store { () throws(KeyStoreError) in try storage.subscription(organizationId: organizationId) }
        let subscription = view(record, organizationId: organizationId)
        let named = catalog.plan(subscription.plan)
        let plan = subscription.status == .canceled ? catalog.defaultPlan : named ?? catalog.defaultPlan
        return OrganizationPlan(subscription: subscription, plan: plan)
    }

    private func view(_ record: SubscriptionRecord?, organizationId: String) -> Subscription {
        guard let record else {
            return Subscription(
                organizationId: organizationId, plan: catalog.defaultPlan.id, status: .active,
                periodStart: nil, periodEnd: nil, updatedAt: nil)
        }
        return Subscription(
            organizationId: record.organizationId, plan: PlanID(record.plan), status: record.status,
            periodStart: record.periodStart, periodEnd: record.periodEnd, updatedAt: record.updatedAt)
    }
}
