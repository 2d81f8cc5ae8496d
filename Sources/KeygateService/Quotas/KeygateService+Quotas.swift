import Foundation
import KeygateJSON
import KeyStore
import PlanCatalog

extension KeygateService {
    /// The capability a key needs to read its organization's quotas.
    public static let subscriptionReadCapability = "subscription.read"

    /// An organization's plan, status and quotas with what is used of each:
    /// what is stored plus what this process has counted and not yet
    /// written, so it agrees with this process's verifications. Counts of
    /// other processes show once they flush (every second).
    public func quotas(organizationId: String) throws(ServiceError) -> QuotaReport {
        let organization = try organizationPlan(organizationId)
        let now = clock.now()
        let anchor = organization.subscription.periodStart
        let plan = organization.plan
        let counted = plan.quotas.filter { catalog.meter($0.meter)?.source != .activeKeys }
        let windows = Dictionary(uniqueKeysWithValues: plan.quotas.map {
            ($0.meter, QuotaCalendar.window($0.period, at: now, anchor: anchor))
        })
        // Under the flush lock, so no count is both stored and pending, or neither.
        let used = try verification.flushing.withLock { () throws(ServiceError) -> [MeterID: Int] in
            // Caught up first, where this process holds counts: those of an
            // organization erased since are dropped, not added to its new count.
            if verification.withState({ $0.holdsMeterCounters || $0.unsureFlush != nil }) { try catchUp() }
            let readings = try store { () throws(KeyStoreError) in
                try storage.readings(
                    organizationId: organizationId,
                    periods: counted.map { ($0.meter.rawValue, windows[$0.meter]!.start) })
            }
            let stored = Dictionary(uniqueKeysWithValues: readings.map { (MeterID($0.meter), $0.used) })
            return verification.withState { state in
                Dictionary(uniqueKeysWithValues: counted.map { quota in
                    let slot = MeterSlot(organizationId: organizationId, meter: quota.meter.rawValue,
                                         periodStart: windows[quota.meter]!.start)
                    return (quota.meter, (stored[quota.meter] ?? 0) + state.pendingAmount(slot))
                })
            }
        }
        let activeKeys = try store { () throws(KeyStoreError) in
            try storage.liveKeyCount(organizationId: organizationId, kinds: plan.apiKeys?.kinds.map(\.rawValue) ?? [])
        }
        let states = plan.quotas.map { quota in
            let isKeyCount = catalog.meter(quota.meter)?.source == .activeKeys
            return state(quota, used: isKeyCount ? activeKeys : used[quota.meter] ?? 0, window: windows[quota.meter]!)
        }
        return QuotaReport(subscription: organization.subscription, plan: plan.id, quotas: states)
    }

    /// The quotas of the organization a key belongs to, for an integration
    /// reading them with its own key: the key must be valid, usable on its
    /// plan, and carry `subscription.read`. A key that is not is refused as
    /// verification refuses it: `invalid_key` (401, `reason` naming the
    /// verification code), `plan_suspended` or `insufficient_capability` (403).
    public func quotas(secret: String) throws(ServiceError) -> QuotaReport {
        let lookup = try store { () throws(KeyStoreError) in try storage.find(secret: secret) }
        let record: KeyRecord
        switch lookup {
        case .malformed: throw ServiceError(.invalidKey, field: "key", ["reason": VerifyOutcome.malformed.rawValue])
        case .notFound: throw ServiceError(.invalidKey, field: "key", ["reason": VerifyOutcome.notFound.rawValue])
        case .found(let match): record = match.key
        }
        let organization = try organizationPlan(record.organizationId)
        let key = try managed([record], organization: organization)[0]
        switch key.status {
        case .active: break
        case .revoked: throw ServiceError(.invalidKey, field: "key", ["reason": VerifyOutcome.revoked.rawValue])
        case .expired: throw ServiceError(.invalidKey, field: "key", ["reason": VerifyOutcome.expired.rawValue])
        case .suspended: throw ServiceError(.planSuspended, field: "key")
        }
        guard key.usableCapabilities.contains(Self.subscriptionReadCapability) else {
            throw ServiceError(.insufficientCapability, field: "key", ["capability": Self.subscriptionReadCapability])
        }
        return try quotas(organizationId: record.organizationId)
    }

    /// Adds to a meter the product reports, once per idempotency key, and
    /// returns the meter's quota state. By default going over the limit is
    /// recorded (the use happened) and the state says ``QuotaState/exceeded``.
    /// With `reserve`, the amount is recorded only if it fits the limit,
    /// checked and added atomically; else `quota_exceeded` and nothing is.
    /// A call sent again under its idempotency key is answered with the
    /// meter's state and records nothing; one that differs in meter,
    /// amount or `reserve` is `idempotency_key_reused`.
    public func recordUsage(organizationId: String, meter id: String, amount: Int, idempotencyKey: String,
                            reserve: Bool = false) throws(ServiceError) -> QuotaState
    {
        guard let meter = catalog.meter(MeterID(id)) else {
            throw ServiceError(.unknownMeter, field: "meter", [
                "meter": storage.rules.format.redacted(id),
                "meters": catalog.meters.filter { $0.source == .recorded }.map(\.id.rawValue).joined(separator: ", "),
            ])
        }
        guard meter.source == .recorded else {
            throw ServiceError(.meterNotRecordable, field: "meter", ["meter": id])
        }
        let organization = try organizationPlan(organizationId)
        guard let quota = organization.plan.quota(for: meter.id) else {
            preconditionFailure("the catalog loader guarantees a quota per meter on every plan")
        }
        let window = QuotaCalendar.window(quota.period, at: clock.now(), anchor: organization.subscription.periodStart)
        // The use and the threshold events it sets off commit together.
        let result = try atomically { service throws(ServiceError) in
            let result: (used: Int, replayed: Bool)
            do throws(KeyStoreError) {
                result = try service.storage.add(
                    amount, to: meter.id.rawValue, periodStart: window.start, organizationId: organizationId,
                    idempotencyKey: idempotencyKey, reserve: reserve, limit: quota.limit)
            } catch where error.code == .quotaExceeded {
                throw ServiceError(.quotaExceeded, field: "amount", [
                    "meterName": meter.nameKey, "resetsAt": window.resetsAt.map(RFC3339.string) ?? "",
                ].filter { !$0.value.isEmpty })
            } catch {
                throw ServiceError(error)
            }
            guard !result.replayed else { return result }
            let increment = MeterIncrement(organizationId: organizationId, meter: meter.id.rawValue,
                                           periodStart: window.start, amount: amount, limit: quota.limit)
            try service.appendThresholdEvents(of: increment, usedAfter: result.used)
            return result
        }
        return state(quota, used: result.used, window: window)
    }

    /// A billing event changed what an organization's quotas count against:
    /// the start of its periods (`anchor`), a meter's period (a day, a
    /// month), or a limit. Each count now runs from the period that holds
    /// this moment, and what was counted since that period began, under
    /// the later starts the old anchor or period gave, is carried into it.
    /// Counted under an earlier start, a count stays there: its uses before
    /// the new period began cannot be told from those after, so a period
    /// moved later starts from zero, as a renewal does. Standing counts
    /// (never reset) start when their plan does and take nothing.
    ///
    /// Then every threshold of a changed quota that its stored count has
    /// reached is announced, once per period and limit: a downgrade that
    /// leaves an organization over its new limit says so now, as no later
    /// use would cross that threshold again. In the billing event's unit
    /// of work.
    func settleQuotas(organizationId: String, from old: (plan: Plan, anchor: Date?), to new: (plan: Plan, anchor: Date?))
        throws(ServiceError)
    {
        let now = clock.now()
        var changed: [(quota: Quota, window: QuotaWindow)] = []
        for quota in new.plan.quotas where catalog.meter(quota.meter)?.source != .activeKeys {
            let previous = old.plan.quota(for: quota.meter)
            let periodMoved = quota.period != .none
                && (previous?.period != quota.period || (quota.period == .month && old.anchor != new.anchor))
            guard periodMoved || previous?.limit != quota.limit else { continue }
            let window = QuotaCalendar.window(quota.period, at: now, anchor: new.anchor)
            changed.append((quota, window))
            if periodMoved { try joinCounts(of: quota, organizationId: organizationId, into: window) }
        }
        try announceReachedThresholds(organizationId: organizationId, of: changed)
    }

    /// Writes the threshold events of each quota's limit that its stored
    /// count in `window` has reached, each once per period and limit (those
    /// written before are not written again); in the caller's unit of work.
    func announceReachedThresholds(organizationId: String, of quotas: [(quota: Quota, window: QuotaWindow)])
        throws(ServiceError)
    {
        let limited = quotas.filter { $0.quota.limit != nil }
        guard !limited.isEmpty else { return }
        let readings = try store { () throws(KeyStoreError) in
            try storage.readings(organizationId: organizationId,
                                 periods: limited.map { ($0.quota.meter.rawValue, $0.window.start) })
        }
        for (quota, window) in limited {
            let used = readings.first { $0.meter == quota.meter.rawValue && $0.periodStart == window.start }?.used ?? 0
            // As if the whole count were added now: the thresholds it reaches.
            let count = MeterIncrement(organizationId: organizationId, meter: quota.meter.rawValue,
                                       periodStart: window.start, amount: used, limit: quota.limit)
            try appendThresholdEvents(of: count, usedAfter: used)
        }
    }

    /// Carries what an organization counted of `quota`'s meter under later
    /// starts inside `window` into the window's start, in the caller's unit
    /// of work. The thresholds the joined count reaches are the caller's to
    /// announce (``announceReachedThresholds(organizationId:of:)``), with
    /// those of its other quotas.
    func joinCounts(of quota: Quota, organizationId: String, into window: QuotaWindow) throws(ServiceError) {
        _ = try store { () throws(KeyStoreError) in
            try storage.carryCounts(organizationId: organizationId, meter: quota.meter.rawValue, into: window.start,
                                    before: window.resetsAt)
        }
    }

    /// The threshold events an addition to a meter sets off, the meter now
    /// at `used`, in the caller's unit of work.
    private func appendThresholdEvents(of increment: MeterIncrement, usedAfter used: Int) throws(ServiceError) {
        for event in increment.thresholdEvents(usedAfter: used) {
            try store { () throws(KeyStoreError) in try storage.appendEvent(event) }
        }
    }

    func state(_ quota: Quota, used: Int, window: QuotaWindow) -> QuotaState {
        QuotaState(
            meter: quota.meter, limit: quota.limit, used: used, remaining: quota.limit.map { max(0, $0 - used) },
            exceeded: quota.limit.map { used > $0 } ?? false, period: quota.period, resetsAt: window.resetsAt)
    }
}
