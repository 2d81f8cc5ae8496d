import Foundation
import KeyStore
import PlanCatalog

extension KeygateService {
    /// Verifies a key for one request of the product's public API: format,
    /// existence, revocation, expiry, plan, capability (or route), origin,
    /// rate limit and quota, in that order. Verification itself never writes
    /// to the database; counts are buffered until ``flushUsage()``.
    public func verify(_ request: VerifyRequest) throws(ServiceError) -> VerifyResult {
        guard (1...KeyRules.rateLimits.upperBound).contains(request.cost) else {
            throw ServiceError(.invalidAmount, field: "cost", ["min": "1"])
        }
        guard let digest = storage.rules.format.digest(ofWellFormed: request.key) else { return VerifyResult(.malformed) }
        let token = try store { () throws(KeyStoreError) in try storage.changeToken() }
        cache.prepare(for: token)
        let cached: VerificationCache.Key
        if let hit = cache.lookup(digest) {
            cached = hit
        } else {
            let lookup = try store { () throws(KeyStoreError) in try storage.find(digest: digest) }
            cached = if case .found(let match) = lookup { VerificationCache.Key(match) } else { VerificationCache.Key(nil) }
            cache.store(cached, for: digest, token: token)
        }
        let now = clock.now()
        guard let match = cached.match, match.secretExpiresAt.map({ $0 > now }) ?? true else {
            return VerifyResult(.notFound)
        }
        let key = match.key
        var result = try check(key, request, now: now, token: token)
        result.organizationId = key.organizationId
        result.keyId = key.id
        result.kind = key.kind
        usage.record(keyId: key.id, valid: result.isValid, at: now, origin: request.origin, ip: request.ip)
        return result
    }

    private func check(_ key: KeyRecord, _ request: VerifyRequest, now: Date, token: ChangeToken) throws(ServiceError)
        -> VerifyResult
    {
        switch key.status(at: now) {
        case .revoked: return VerifyResult(.revoked)
        case .expired: return VerifyResult(.expired)
        case .active, .suspended: break
        }
        let organization = try cachedOrganization(key.organizationId, now: now, token: token)
        guard organization.access.status(of: key, at: now) == .active else { return VerifyResult(.planSuspended) }

        let usable = organization.access.usableCapabilities(of: key)
        let needed = request.capability ?? request.method.flatMap { method in
            request.path.flatMap { catalog.routes.capability(method: method, path: $0)?.rawValue }
        }
        guard let needed, usable.contains(needed) else {
            var result = VerifyResult(.insufficientCapability)
            result.capability = needed
            result.noRoute = needed == nil
            return result
        }
        if !key.allowedOrigins.isEmpty {
            let origin = request.origin.flatMap { try? WebOrigin.normalize($0) }
            guard let origin, key.allowedOrigins.contains(origin) else {
                var result = VerifyResult(.originNotAllowed)
                result.origin = request.origin.map(storage.rules.format.redacted) ?? "—"
                return result
            }
        }

        let limit = organization.access.rateLimit(of: key)
        let rate: RateLimitState
        switch rateLimiter.admit(key: key.id, limit: limit, cost: request.cost, at: now) {
        case .limited(let retryAfter, let resetAt):
            var result = VerifyResult(.rateLimited)
            result.retryAfter = retryAfter
            result.rateLimit = RateLimitState(limit: limit, remaining: 0, resetAt: resetAt)
            return result
        case .allowed(let remaining, let resetAt):
            rate = RateLimitState(limit: limit, remaining: remaining, resetAt: resetAt)
        }

        var quota: QuotaState?
        if let requests = organization.requests {
            var window = requests.window
            var stored = requests.stored
            if let resetsAt = window.resetsAt, now >= resetsAt {
                window = QuotaCalendar.window(requests.quota.period, at: now, anchor: organization.plan.subscription.periodStart)
                stored = try storedRequests(key.organizationId, meter: requests.meter, window: window)
            }
            let (admitted, used) = usage.reserve(
                request.cost, stored: stored, limit: requests.quota.limit, organizationId: key.organizationId,
                meter: requests.meter, periodStart: window.start)
            guard admitted else {
                var result = VerifyResult(.quotaExceeded)
                result.rateLimit = rate
                result.quota = state(requests.quota, used: used, window: window)
                return result
            }
            quota = state(requests.quota, used: used, window: window)
        }
        var result = VerifyResult(.valid)
        result.capabilities = usable
        result.rateLimit = rate
        result.quota = quota
        return result
    }

    /// The organization's plan and key access, from the cache or the store.
    private func cachedOrganization(_ id: String, now: Date, token: ChangeToken) throws(ServiceError)
        -> VerificationCache.Organization
    {
        if let cached = cache.organization(id, at: now) {
            guard cached.countedAt != token.data, let requests = cached.requests else { return cached }
            let recounted = cached.recounted(try storedRequests(id, meter: requests.meter, window: requests.window), at: token.data)
            cache.store(recounted, for: id, token: token)
            return recounted
        }
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
        let organization = VerificationCache.Organization(
            plan: plan, access: access, validUntil: validUntil, requests: requests, countedAt: token.data)
        cache.store(organization, for: id, token: token)
        return organization
    }

    /// Requests already written to the store for a quota window.
    private func storedRequests(_ organizationId: String, meter: String, window: QuotaWindow) throws(ServiceError) -> Int {
        try store { () throws(KeyStoreError) in
            try storage.readings(organizationId: organizationId, periods: [(meter, window.start)]).first?.used ?? 0
        }
    }

    /// Writes the buffered usage to the database in one transaction. Counts
    /// leave the buffer only once written, so a failed flush loses nothing
    /// and the next one writes them.
    public func flushUsage() throws(ServiceError) {
        let (increments, meters) = usage.snapshot()
        try store { () throws(KeyStoreError) in try storage.flush(usage: increments, meters: meters) }
        usage.remove(increments, meters)
        rateLimiter.prune(at: clock.now())
    }
}
