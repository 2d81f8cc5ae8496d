import Foundation
import KeyStore
import PlanCatalog

extension KeygateService {
    /// Brings requests a flush wrote late into the period they belong to.
    /// Called at the end of every flush.
    ///
    /// A billing event that moves an organization's period earlier carries
    /// what is stored under the later starts into the new one
    /// (``joinCounts(of:organizationId:into:)``), but a process may have
    /// counted requests under the old start that it had not written then
    /// (up to a flush interval's worth, or a batch whose write it retries).
    /// Written after the event, they would stay under a start no period
    /// has any more. So after each flush this process catches up with the
    /// store's changes and looks at each period it wrote for an
    /// organization whose subscription changed lately: where the start it
    /// wrote lies inside a period that now began earlier, it carries it
    /// there as the event did. Either the flush committed before the
    /// event's carry, which then took its counts, or after the event, which
    /// the catch-up then sees: nothing is left between the two. For the
    /// same organizations it announces the thresholds of their current
    /// limits that the counts written reached.
    ///
    /// Without billing events this costs a flush one read of the change
    /// token: no period written is looked at and no organization read.
    func rejoinLateCounts() throws(ServiceError) {
        let checks = verification.lateCounts.withLock { checks in
            defer { checks = LateCountChecks() }
            return checks
        }
        do {
            try rejoin(checks)
        } catch {
            verification.lateCounts.withLock {
                $0.retried.formUnion(checks.written)
                $0.retried.formUnion(checks.retried)
            }
            throw error
        }
    }

    private func rejoin(_ checks: LateCountChecks) throws(ServiceError) {
        if !checks.written.isEmpty || !checks.retried.isEmpty {
            // `nil`: every organization may have changed.
            let changed = try subscriptionsChangedLately()
            var slots = checks.retried
            if changed?.isEmpty != true {
                slots.formUnion(checks.written.lazy.filter { changed?.contains($0.organizationId) ?? true })
            }
            if !slots.isEmpty { try rejoin(slots) }
        }
        verification.withState { $0.subscriptionChangesLookedAt() }
    }

    /// The organizations whose subscription changed in the last two looks
    /// at late counts, the store's changes caught up with first; `nil` for
    /// every organization (the cache forgot everything meanwhile).
    func subscriptionsChangedLately() throws(ServiceError) -> Set<String>? {
        try catchUp()
        return verification.withState { $0.recentSubscriptionChanges }
    }

    /// Carries each of `slots` written under a start that now lies inside
    /// a period that began earlier into that period, and announces the
    /// thresholds the current limits find reached in the periods written.
    private func rejoin(_ slots: Set<MeterSlot>) throws(ServiceError) {
        let now = clock.now()
        let ids = Set(slots.map(\.organizationId))
        var plans = verification.withState { state in
            ids.reduce(into: [String: OrganizationPlan]()) { plans, id in plans[id] = state.organization(id, at: now)?.plan }
        }
        let unknown = ids.filter { plans[$0] == nil }
        if !unknown.isEmpty {
            let records = try store { () throws(KeyStoreError) in try storage.subscriptions(organizationIds: Array(unknown)) }
            for id in unknown { plans[id] = organizationPlan(records[id], organizationId: id) }
        }
        var current: [String: [MeterID: (quota: Quota, window: QuotaWindow)]] = [:]
        for slot in slots {
            guard let organization = plans[slot.organizationId],
                  let quota = organization.plan.quota(for: MeterID(slot.meter))
            else { continue }
            let window = QuotaCalendar.window(quota.period, at: now, anchor: organization.subscription.periodStart)
            let inside = quota.period != .none && slot.periodStart > window.start
                && slot.periodStart < window.resetsAt ?? .distantFuture
            guard inside || slot.periodStart == window.start else { continue }
            if inside {
                try atomically { service throws(ServiceError) in
                    try service.joinCounts(of: quota, organizationId: slot.organizationId, into: window)
                }
            }
            current[slot.organizationId, default: [:]][quota.meter] = (quota, window)
        }
        // The flush weighed its counts against the limit this process knew
        // when it counted them: a plan changed since may have a lower one
        // they reached, which neither the billing event (it read the count
        // without them) nor a later flush (past it already) would announce.
        for (organizationId, quotas) in current {
            try atomically { service throws(ServiceError) in
                try service.announceReachedThresholds(organizationId: organizationId, of: Array(quotas.values))
            }
        }
    }
}
