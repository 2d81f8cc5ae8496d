import Foundation
import KeyStore
import PlanCatalog

/// What an organization's plan lets its keys do, derived afresh from the plan
/// and the keys themselves, never stored, so that a downgrade deletes nothing
/// and an upgrade restores everything.
///
/// - A plan without API keys suspends every key.
/// - A key of a kind the plan does not allow is suspended.
/// - When there are more live keys than the plan's maximum, the oldest keep
///   working and the newest beyond the limit are suspended; revoking an old
///   key lets the next one work again.
/// - Capabilities outside the plan stay on the key but are unusable.
/// - A rate limit above the plan's ceiling is enforced at the ceiling.
///
/// A class: a cached organization holds one, and each key's grant reads it;
/// as a struct every read copied the catalog and plan inside it (a tenth of
/// a cache miss went to those copies). It keeps neither the catalog nor its
/// own table of usable capabilities: one of each per cached organization
/// was much of the verification cache's memory (docs/PERFORMANCE.md).
final class KeyAccess: Sendable {
    let plan: Plan
    /// The keys within the plan's maximum; `nil` when every live key of an
    /// allowed kind is within it.
    let withinLimit: Set<String>?
    /// Per kind, what its keys may use on this plan: the catalog's table,
    /// shared by every organization on the plan.
    private let usableByKind: [String: Set<String>]

    /// Reads what deriving the statuses of an organization's keys needs: one
    /// query, for the ids of its oldest live keys up to the plan's maximum.
    /// Without `ranking` (no key in question is active, or it is known to be
    /// within the maximum) the query is skipped.
    convenience init(catalog: PlanCatalog, plan: Plan, organizationId: String, storage: any KeygateStorage,
                     ranking: Bool = true) throws(KeyStoreError)
    {
        let query = ranking ? Self.ranking(plan, organizationId: organizationId) : nil
        try self.init(catalog: catalog, plan: plan, oldest: query.map { query throws(KeyStoreError) in
            try storage.liveKeyIds(organizationId: query.organizationId, kinds: query.kinds, limit: query.limit)
        })
    }

    /// From the answer to ``ranking(_:organizationId:)``'s query, read by
    /// the caller (with other organizations' where verification reads them
    /// together); `nil` when there was none to ask.
    init(catalog: PlanCatalog, plan: Plan, oldest: [String]?) {
        self.plan = plan
        usableByKind = catalog.usableCapabilityIds(on: plan)
        if let oldest, let maximum = plan.apiKeys?.maxActiveKeys, Self.exceeds(plan, oldest: oldest) {
            withinLimit = Set(oldest.prefix(maximum))
        } else {
            withinLimit = nil
        }
    }

    /// Whether `oldest`, the answer to ``ranking(_:organizationId:)``'s
    /// query, holds more live keys than the plan's maximum: only then does
    /// an organization's access differ from its plan's (``shared(by:)``).
    static func exceeds(_ plan: Plan, oldest: [String]?) -> Bool {
        guard let oldest, let maximum = plan.apiKeys?.maxActiveKeys else { return false }
        return oldest.count > maximum
    }

    /// The access of every organization within its plan's maximum, one per
    /// plan of `catalog`: the same for all of them, where a cached
    /// organization each held its own copy (docs/PERFORMANCE.md).
    static func shared(by catalog: PlanCatalog) -> [PlanID: KeyAccess] {
        Dictionary(catalog.plans.map { ($0.id, KeyAccess(catalog: catalog, plan: $0, oldest: nil)) }) { first, _ in first }
    }

    /// What to read of the organization's keys to know which are within
    /// the plan's maximum: its oldest live keys of the allowed kinds, one
    /// more than the maximum, which tells whether any is beyond it. Most
    /// organizations have none, and then no set is kept: a set of ids for
    /// each cached organization was a large part of the cache's memory
    /// (docs/PERFORMANCE.md). `nil` for a plan without a maximum.
    static func ranking(_ plan: Plan, organizationId: String) -> LiveKeyQuery? {
        guard let policy = plan.apiKeys, let maximum = policy.maxActiveKeys else { return nil }
        return (organizationId: organizationId, kinds: policy.kinds.map(\.rawValue), limit: maximum + 1)
    }

    func status(of key: some KeyTerms, at now: Date) -> KeyStatus {
        switch key.state(at: now) {
        case .expired: return .expired
        case .revoked: return .revoked
        case .live: break
        }
        guard let policy = plan.apiKeys, policy.kinds.contains(KindID(key.kind)) else { return .suspended }
        if let withinLimit, !withinLimit.contains(key.id) { return .suspended }
        return .active
    }

    /// The key's capabilities that its kind and the plan allow, in the key's order.
    func usableCapabilities(of key: some KeyTerms) -> [String] {
        guard let usable = usableByKind[key.kind] else { return [] }
        // The key's own list when the plan takes nothing from it, the usual
        // case: shared rather than copied, since every cached key's grant
        // holds one (docs/PERFORMANCE.md).
        if key.capabilities.allSatisfy(usable.contains) { return key.capabilities }
        return key.capabilities.filter(usable.contains)
    }

    /// The key's rate limit, clamped to the plan's ceiling.
    func rateLimit(of key: some KeyTerms) -> Int {
        min(key.rateLimit, plan.apiKeys?.rateLimit.maxPerMinute ?? key.rateLimit)
    }
}
