import Foundation
import KeyStore
import PlanCatalog

extension KeygateService {
    /// Verifies a key for one request of the product's public API: format,
    /// existence, revocation, expiry, plan, capability (or route), origin,
    /// rate limit and quota, in that order. Verification itself never writes
    /// to the database; counts are buffered until ``flushUsage()``.
    ///
    /// A key seen before is answered from memory after one check that
    /// nothing was committed since (see ``VerificationState``); whatever is
    /// missing is read from the store outside the lock, and the check runs
    /// again with it, at most once per kind of read.
    public func verify(_ request: VerifyRequest) throws(ServiceError) -> VerifyResult {
        guard (1...KeyRules.rateLimits.upperBound).contains(request.cost) else {
            throw ServiceError(.invalidAmount, field: "cost", ["min": "1"])
        }
        guard let digest = storage.rules.format.digest(ofWellFormed: request.key) else { return VerifyResult(.malformed) }
        let token = try store { () throws(KeyStoreError) in try storage.changeToken() }
        let now = clock.now()
        var fetched = Fetched()
        while true {
            let step = verification.withState { state in
                state.prepare(for: token)
                return attempt(&state, digest, request, now: now, token: token, fetched: fetched)
            }
            switch step {
            case .answer(let result):
                return result
            case .fetchKey:
                let lookup = try store { () throws(KeyStoreError) in try storage.find(digest: digest) }
                fetched.key = if case .found(let match) = lookup { .some(match) } else { .some(nil) }
            case .fetchOrganization(let id):
                fetched.organization = try organizationSnapshot(id, now: now)
            case .fetchCount(let organizationId, let meter, let window):
                fetched.count = (organizationId, window.start, try storedRequests(organizationId, meter: meter, window: window))
            }
        }
    }

    /// What one verification read from the store, for the next attempt.
    private struct Fetched: Sendable {
        /// `.some(nil)`: looked up, no such key.
        var key: KeyMatch??
        var organization: OrganizationSnapshot?
        var count: (organizationId: String, periodStart: Date, stored: Int)?
    }

    private enum Step: Sendable {
        case answer(VerifyResult)
        case fetchKey
        case fetchOrganization(String)
        case fetchCount(organizationId: String, meter: String, window: QuotaWindow)
    }

    /// One verification under the lock. Everything that may need a read
    /// from the store is settled before anything is counted, so an attempt
    /// that asks for a read has changed nothing.
    private func attempt(_ memory: inout VerificationState.State, _ digest: KeyDigest, _ request: VerifyRequest,
                         now: Date, token: ChangeToken, fetched: Fetched) -> Step
    {
        let entry: CachedKey
        if let cached = memory.key(digest) {
            entry = cached
        } else if let match = fetched.key {
            entry = memory.key(digest, from: match, readAt: token)
        } else {
            return .fetchKey
        }
        guard let match = entry.match, match.secretExpiresAt.map({ $0 > now }) ?? true else {
            return .answer(VerifyResult(.notFound))
        }
        let key = match.key
        let counters = memory.counters(of: entry, keyId: key.id)
        func answer(_ result: VerifyResult) -> Step {
            var result = result
            result.organizationId = key.organizationId
            result.keyId = key.id
            result.kind = key.kind
            counters.record(valid: result.isValid, day: QuotaCalendar.startOfDay(now), at: now,
                            origin: request.origin, ip: request.ip)
            return .answer(result)
        }
        switch key.status(at: now) {
        case .revoked: return answer(VerifyResult(.revoked))
        case .expired: return answer(VerifyResult(.expired))
        case .active, .suspended: break
        }

        // The organization and the key's access on its plan.
        let grant: Grant
        if let cached = entry.grant, !cached.organization.hasExpired(at: now) {
            grant = cached
        } else {
            let organization: CachedOrganization
            if let cached = memory.organization(key.organizationId, at: now) {
                organization = cached
            } else if let snapshot = fetched.organization {
                organization = memory.organization(snapshot, readAt: token)
            } else {
                return .fetchOrganization(key.organizationId)
            }
            grant = Grant(key, in: organization, at: now)
            entry.grant = grant
        }
        let organization = grant.organization

        // The request quota's period and stored count, read again after any
        // commit (a flush here or elsewhere) and when a new period begins.
        if var requests = organization.requests {
            var window = requests.window
            if let resetsAt = window.resetsAt, now >= resetsAt {
                window = QuotaCalendar.window(requests.quota.period, at: now, anchor: organization.plan.subscription.periodStart)
            }
            if window != requests.window || requests.countedAt != memory.token?.data {
                guard let count = fetched.count, count.organizationId == organization.id, count.periodStart == window.start
                else { return .fetchCount(organizationId: organization.id, meter: requests.meter, window: window) }
                requests.window = window
                requests.stored = count.stored
                // A count read under an older token serves this call only.
                requests.countedAt = memory.token == token ? token.data : .min
            }
            if requests.counter == nil || requests.counter?.isRetired == true || requests.counter?.slot.periodStart != window.start {
                requests.counter = memory.meter(MeterSlot(organizationId: organization.id, meter: requests.meter,
                                                         periodStart: window.start))
            }
            organization.requests = requests
        }

        guard grant.isActive else { return answer(VerifyResult(.planSuspended)) }
        let needed = request.capability ?? request.method.flatMap { method in
            request.path.flatMap { catalog.routes.capability(method: method, path: $0)?.rawValue }
        }
        guard let needed, grant.usable.contains(needed) else {
            var result = VerifyResult(.insufficientCapability)
            result.capability = needed
            result.noRoute = needed == nil
            return answer(result)
        }
        if !key.allowedOrigins.isEmpty {
            let origin = request.origin.flatMap { try? WebOrigin.normalize($0) }
            guard let origin, key.allowedOrigins.contains(origin) else {
                var result = VerifyResult(.originNotAllowed)
                result.origin = request.origin.map(storage.rules.format.redacted) ?? "—"
                return answer(result)
            }
        }

        let limit = grant.rateLimit
        let rate: RateLimitState
        switch GCRA.admit(&counters.arrival, limit: limit, cost: request.cost, at: GCRA.microseconds(now)) {
        case .limited(let retryAfter, let resetAt):
            var result = VerifyResult(.rateLimited)
            result.retryAfter = retryAfter
            result.rateLimit = RateLimitState(limit: limit, remaining: 0, resetAt: resetAt)
            return answer(result)
        case .allowed(let remaining, let resetAt):
            rate = RateLimitState(limit: limit, remaining: remaining, resetAt: resetAt)
        }

        var result = VerifyResult(.valid)
        if let requests = organization.requests, let counter = requests.counter {
            // Stored plus counted here, checked and counted in one step under
            // the lock, so concurrent verifications cannot both take the last unit.
            let used = requests.stored + counter.amount
            if let limit = requests.quota.limit, used + request.cost > limit {
                var refused = VerifyResult(.quotaExceeded)
                refused.rateLimit = rate
                refused.quota = state(requests.quota, used: used, window: requests.window)
                return answer(refused)
            }
            counter.amount += request.cost
            result.quota = state(requests.quota, used: used + request.cost, window: requests.window)
        }
        result.capabilities = grant.usable
        result.rateLimit = rate
        return answer(result)
    }

    /// An organization's plan, key access and request count, from the store.
    private func organizationSnapshot(_ id: String, now: Date) throws(ServiceError) -> OrganizationSnapshot {
        let plan = try organizationPlan(id)
        let (access, validUntil) = try store { () throws(KeyStoreError) in
            let access = try KeyAccess(catalog: catalog, plan: plan.plan, organizationId: id, storage: storage)
            let validUntil = try access.withinLimit == nil
                ? nil : storage.nextExpiry(organizationId: id, kinds: plan.plan.apiKeys?.kinds.map(\.rawValue) ?? [])
            return (access, validUntil)
        }
        var requests: (meter: String, quota: Quota, window: QuotaWindow, stored: Int)?
        if let meter = catalog.meter(source: .verifications), let quota = plan.plan.quota(for: meter.id) {
            let window = QuotaCalendar.window(quota.period, at: now, anchor: plan.subscription.periodStart)
            requests = (meter.id.rawValue, quota, window, try storedRequests(id, meter: meter.id.rawValue, window: window))
        }
        return OrganizationSnapshot(organizationId: id, plan: plan, access: access, validUntil: validUntil, requests: requests)
    }

    /// Requests already written to the store for a quota window.
    private func storedRequests(_ organizationId: String, meter: String, window: QuotaWindow) throws(ServiceError) -> Int {
        try store { () throws(KeyStoreError) in
            try storage.readings(organizationId: organizationId, periods: [(meter, window.start)]).first?.used ?? 0
        }
    }

    /// Writes the buffered usage to the database in one transaction. Counts
    /// leave memory only once written, so a failed flush loses nothing and
    /// the next one writes them.
    public func flushUsage() throws(ServiceError) {
        try verification.flushing.withLock { _ throws(ServiceError) in
            let (increments, meters) = verification.withState { $0.pending() }
            try store { () throws(KeyStoreError) in try storage.flush(usage: increments, meters: meters) }
            let now = GCRA.microseconds(clock.now())
            verification.withState { $0.remove(increments, meters, at: now) }
        }
    }
}
