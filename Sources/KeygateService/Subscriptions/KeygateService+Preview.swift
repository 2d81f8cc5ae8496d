import Foundation
import KeyStore
public import PlanCatalog

extension KeygateService {
    /// What moving the organization to `plan` would suspend, restore and take
    /// away; changes nothing. It derives both sides with the same rules as
    /// every other call, so what it predicts is what the change does.
    public func preview(organizationId: String, plan target: PlanID) throws(ServiceError) -> PlanChangePreview {
        guard let targetPlan = catalog.plan(target) else { throw unknownPlan(target) }
        let organization = try organizationPlan(organizationId)
        let (current, next) = try store { () throws(KeyStoreError) in
            (try KeyAccess(catalog: catalog, plan: organization.plan, organizationId: organizationId, storage: storage),
             try KeyAccess(catalog: catalog, plan: targetPlan, organizationId: organizationId, storage: storage))
        }
        let now = clock.now()
        var suspended: [String] = []
        var restored: [String] = []
        var lost: [LostCapabilities] = []
        var usableNow = Set<String>()
        var usableAfter = Set<String>()
        for key in try liveKeys(organizationId: organizationId).reversed() {
            let (before, after) = (current.status(of: key, at: now), next.status(of: key, at: now))
            if before == .active { usableNow.formUnion(current.usableCapabilities(of: key)) }
            if after == .active { usableAfter.formUnion(next.usableCapabilities(of: key)) }
            switch (before, after) {
            case (.active, .suspended): suspended.append(key.id)
            case (.suspended, .active): restored.append(key.id)
            case (.active, .active):
                let remaining = Set(next.usableCapabilities(of: key))
                let gone = current.usableCapabilities(of: key).filter { !remaining.contains($0) }
                if !gone.isEmpty { lost.append(LostCapabilities(keyId: key.id, capabilities: gone)) }
            default: break
            }
        }
        let changes = catalog.meters.compactMap { meter -> QuotaChange? in
            let from = organization.plan.quota(for: meter.id)
            let to = targetPlan.quota(for: meter.id)
            return from == to ? nil : QuotaChange(meter: meter.id, from: from, to: to)
        }
        let gone = usableNow.subtracting(usableAfter)
        return PlanChangePreview(
            from: organization.plan.id, to: target, suspendedKeys: suspended, restoredKeys: restored,
            lostCapabilities: lost,
            capabilitiesLost: catalog.capabilities.map(\.id.rawValue).filter(gone.contains),
            quotaChanges: changes)
    }

    /// The keys a move from one plan to another suspends and restores,
    /// oldest first, by the same rules as ``preview(organizationId:plan:)``.
    func statusChanges(organizationId: String, from: Plan, to: Plan) throws(ServiceError)
        -> (suspended: [String], restored: [String])
    {
        let (current, next) = try store { () throws(KeyStoreError) in
            (try KeyAccess(catalog: catalog, plan: from, organizationId: organizationId, storage: storage),
             try KeyAccess(catalog: catalog, plan: to, organizationId: organizationId, storage: storage))
        }
        let now = clock.now()
        var suspended: [String] = []
        var restored: [String] = []
        for key in try liveKeys(organizationId: organizationId).reversed() {
            switch (current.status(of: key, at: now), next.status(of: key, at: now)) {
            case (.active, .suspended): suspended.append(key.id)
            case (.suspended, .active): restored.append(key.id)
            default: break
            }
        }
        return (suspended, restored)
    }

    /// Every live key of the organization, newest first, page by page.
    private func liveKeys(organizationId: String) throws(ServiceError) -> [KeyRecord] {
        var keys: [KeyRecord] = []
        var cursor: String?
        repeat {
            let page = try store { () throws(KeyStoreError) in
                try storage.keys(organizationId: organizationId, filter: .state(.live), cursor: cursor,
                                 limit: KeyRules.pageSizes.upperBound)
            }
            keys += page.keys
            cursor = page.nextCursor
        } while cursor != nil
        return keys
    }
}
