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
        let lookup = try store { () throws(KeyStoreError) in try storage.find(secret: request.key) }
        let key: KeyRecord
        switch lookup {
        case .malformed: return VerifyResult(.malformed)
        case .notFound: return VerifyResult(.notFound)
        case .found(let match): key = match.key
        }
        let now = clock.now()
        var result = try check(key, request, now: now)
        result.organizationId = key.organizationId
        result.keyId = key.id
        result.kind = key.kind
        usage.record(keyId: key.id, valid: result.isValid, at: now, origin: request.origin, ip: request.ip)
        return result
    }

    private func check(_ key: KeyRecord, _ request: VerifyRequest, now: Date) throws(ServiceError) -> VerifyResult {
        switch key.status(at: now) {
        case .revoked: return VerifyResult(.revoked)
        case .expired: return VerifyResult(.expired)
        case .active, .suspended: break
        }
        let organization = try organizationPlan(key.organizationId)
        let access = try store { () throws(KeyStoreError) in
            try KeyAccess(catalog: catalog, plan: organization.plan, organizationId: key.organizationId, storage: storage)
        }
        guard access.status(of: key, at: now) == .active else { return VerifyResult(.planSuspended) }

        let usable = access.usableCapabilities(of: key)
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
                result.origin = request.origin.map { String($0.prefix(200)) } ?? "—"
                return result
            }
        }

        let limit = access.rateLimit(of: key)
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
        if let meter = catalog.meter(source: .verifications), let plan = organization.plan.quota(for: meter.id) {
            let window = QuotaCalendar.window(plan.period, at: now, anchor: organization.subscription.periodStart)
            let stored = try store { () throws(KeyStoreError) in
                try storage.readings(organizationId: key.organizationId, periods: [(meter.id.rawValue, window.start)])
            }
            let used = (stored.first?.used ?? 0)
                + usage.pending(organizationId: key.organizationId, meter: meter.id.rawValue, periodStart: window.start)
            if let cap = plan.limit, used + request.cost > cap {
                var result = VerifyResult(.quotaExceeded)
                result.rateLimit = rate
                result.quota = state(plan, used: used, window: window)
                return result
            }
            usage.add(request.cost, organizationId: key.organizationId, meter: meter.id.rawValue, periodStart: window.start)
            quota = state(plan, used: used + request.cost, window: window)
        }
        var result = VerifyResult(.valid)
        result.capabilities = usable
        result.rateLimit = rate
        result.quota = quota
        return result
    }

    /// Writes the buffered usage to the database in one transaction. On
    /// failure nothing is lost: the counts go back into the buffer.
    public func flushUsage() throws(ServiceError) {
        let (increments, meters) = usage.drain()
        do {
            try storage.flush(usage: increments, meters: meters)
        } catch {
            usage.restore(usage: increments, meters: meters)
            throw ServiceError(error)
        }
        rateLimiter.prune(at: clock.now())
    }
}
