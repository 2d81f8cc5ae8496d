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
        guard KeyRules.rateLimits.contains(request.cost) else {
            throw ServiceError(.invalidAmount, field: "cost", [
                "min": "\(KeyRules.rateLimits.lowerBound)", "max": "\(KeyRules.rateLimits.upperBound)", "reason": "cost",
            ])
        }
        guard let digest = keyFormat.digest(ofWellFormed: request.key) else { return VerifyResult(.malformed) }
        let token = try store { () throws(KeyStoreError) in try storage.changeToken() }
        let now = clock.now()
        var fetched = Fetched()
        // Filled in place: the result is large, and moving it through each
        // layer cost more than the rest of a cache hit.
        var result = VerifyResult(.valid)
        while true {
            let step = verification.withState { state in
                // Keys or subscriptions changed: what changed is read outside
                // the lock, and only that is forgotten.
                if let since = state.behind(token) { return Step.fetchChanges(since: since) }
                state.advance(to: token)
                // A flush moved stored counts: the ones it moved are read in one go.
                if let since = state.countsBehind(token) { return Step.fetchCounts(since: since) }
                let step = attempt(&state, digest, request, now: now, token: token, fetched: fetched, into: &result)
                if case .answered = step { state.countAnswered() }
                return step
            }
            switch step {
            case .answered:
                return consume result
            case .fetchChanges(let since):
                try catchUp(since: since, to: token)
            case .fetchCounts(let since):
                let changes = try catalog.meter(source: .verifications).map { meter throws(ServiceError) in
                    try store { () throws(KeyStoreError) in
                        try storage.meterChanges(meter: meter.id.rawValue, after: since, through: token.counts)
                    }
                } ?? []
                verification.withState { $0.applyCounts(changes, after: since, through: token.counts) }
            case .fetchKey:
                verification.reads.withLock { $0.keys += 1 }
                let lookup = try store { () throws(KeyStoreError) in try storage.find(digest: digest) }
                fetched.key = if case .found(let match) = lookup { FetchedKey(match) } else { FetchedKey(nil) }
            case .fetchOrganization(let id):
                verification.reads.withLock { $0.organizations += 1 }
                fetched.organization = try organizationSnapshot(id, now: now)
            case .fetchCount(let organizationId, let meter, let window):
                verification.reads.withLock { $0.counts += 1 }
                fetched.count = FetchedCount(organizationId: organizationId, periodStart: window.start,
                                             stored: try storedRequests(organizationId, meter: meter, window: window))
            }
        }
    }

    /// Whether ``prepareVerifications(of:)`` can save anything: the store
    /// looks keys up together for less than one at a time (PostgreSQL).
    public var looksUpKeysTogether: Bool { storage.looksUpTogether }

    /// Brings into memory, in one look-up of the store, the keys of
    /// verifications about to be made that it does not hold (the requests
    /// of one pipelined read), and in three more reads the organizations
    /// of those keys that it does not hold either: each verification then
    /// finds them as if it had read them itself. Keys already held,
    /// malformed ones and a lone miss are left to the verifications, and so
    /// is a lone organization. What is read is kept only if nothing changed
    /// meanwhile, as a verification's own read is. Where the store shares
    /// rate limits through a server, the held keys with nothing in hand
    /// for their limit are then reserved for together too
    /// (``SharedRateLimits/prepare(_:at:)``), rather than one round trip
    /// per verification.
    ///
    /// Only where the store ``looksUpKeysTogether``; elsewhere this would
    /// hash every key twice for nothing. Once a preparation finds every key
    /// in memory, and nothing to reserve, the next ones return at once
    /// until a verification has to read a key, or to reserve, itself: a
    /// process whose keys are all held and busy pays one lock a group, not
    /// a second hash of every key, which a hot verification could not
    /// afford (docs/PERFORMANCE.md).
    public func prepareVerifications(of keys: [String]) throws(ServiceError) {
        guard storage.looksUpTogether, keys.count > 1 else { return }
        let keyReads = verification.reads.withLock { $0.keys }
        let keysAtRest = verification.preparedAllAt.withLock({ $0 }) == keyReads
        let limitsAtRest = sharedLimits.map { limits in verification.preparedLimitsAt.withLock { $0 } == limits.admissionsWaited }
            ?? true
        guard !keysAtRest || !limitsAtRest else { return }
        var digests: [KeyDigest] = []
        var requests: [KeyDigest: Int] = [:]
        for key in keys {
            guard let digest = keyFormat.digest(ofWellFormed: key) else { continue }
            requests[digest, default: 0] += 1
            if requests[digest] == 1 { digests.append(digest) }
        }
        guard digests.count > 1 else { return }
        if !keysAtRest { try prepareKeys(digests, keyReads: keyReads) }
        if !limitsAtRest, let sharedLimits { prepareRateLimits(digests, requests: requests, sharedLimits) }
    }

    /// Reads together the keys among `digests` that memory lacks, and their
    /// organizations that it lacks too (``prepareVerifications(of:)``).
    private func prepareKeys(_ digests: [KeyDigest], keyReads: Int) throws(ServiceError) {
        let token = try catchUp()
        let missing = verification.withState { state -> [KeyDigest]? in
            // Moved on meanwhile: the verifications catch up themselves.
            guard state.behind(token) == nil else { return nil }
            state.advance(to: token)
            return digests.filter { state.key($0) == nil }
        }
        verification.preparedAllAt.withLock { $0 = missing?.isEmpty == true ? keyReads : nil }
        guard let missing, missing.count > 1 else { return }
        verification.reads.withLock { $0.keys += missing.count }
        let lookups = try store { () throws(KeyStoreError) in try storage.find(digests: missing) }
        let now = clock.now()
        // The organizations of the keys found that memory lacks too: after
        // a start, or with many organizations of a few keys each, they were
        // most of a group's reads, three for each.
        let organizations = verification.withState { state -> [String] in
            var lacking: [String] = []
            var seen: Set<String> = []
            for (digest, lookup) in zip(missing, lookups) {
                let match: KeyMatch? = if case .found(let match) = lookup { match } else { nil }
                _ = state.key(digest, from: match, readAt: token)
                // A revoked or expired key is answered without its organization.
                guard let key = match?.key, case .live = key.state(at: now) else { continue }
                if state.organization(key.organizationId, at: now) == nil, seen.insert(key.organizationId).inserted {
                    lacking.append(key.organizationId)
                }
            }
            return lacking
        }
        guard organizations.count > 1 else { return }
        verification.reads.withLock { $0.organizations += organizations.count }
        let snapshots = try organizationSnapshots(organizations, now: now)
        verification.withState { state in
            for snapshot in snapshots { _ = state.organization(snapshot, readAt: token) }
        }
    }

    /// Reserves together for the keys among `digests` that memory holds
    /// with their plan's grant, live and usable, each for its `requests`:
    /// keys read just now took a reservation with their read, and a key
    /// not yet granted is left to its verification, which knows its limit.
    private func prepareRateLimits(_ digests: [KeyDigest], requests: [KeyDigest: Int], _ limits: any SharedRateLimits) {
        let waited = limits.admissionsWaited
        let now = clock.now()
        let demands = verification.withState { state -> [RateDemand] in
            digests.compactMap { digest in
                guard case let entry?? = state.key(digest), (entry.secretExpiresAt ?? .distantFuture) > now,
                      case .live = entry.record.state(at: now), let grant = entry.grant,
                      !grant.organization.hasExpired(at: now), grant.isActive
                else { return nil }
                return RateDemand(tag: entry.rateTag, limit: grant.rateLimit, count: requests[digest] ?? 1)
            }
        }
        let reserved = limits.prepare(demands, at: GCRA.microseconds(now))
        verification.preparedLimitsAt.withLock { $0 = reserved == 0 ? waited : nil }
    }

    /// Catches memory up with the store as it stands now (what changed
    /// since memory last looked is forgotten), returning the store's token.
    @discardableResult
    func catchUp() throws(ServiceError) -> ChangeToken {
        let token = try store { () throws(KeyStoreError) in try storage.changeToken() }
        if let since = verification.withState({ $0.behind(token) }) { try catchUp(since: since, to: token) }
        return token
    }

    /// Reads what changed in the store after `since` up to `token`, outside
    /// the lock, and forgets it from memory.
    func catchUp(since: Int64, to token: ChangeToken) throws(ServiceError) {
        let changes = try store { () throws(KeyStoreError) in try storage.changes(after: since, through: token.keys) }
        verification.withState { $0.advance(to: token, applying: changes) }
    }

    /// What one verification read from the store, for its next attempt.
    /// Only references, so that the copy each attempt is handed costs three
    /// retains: with the count as a tuple beside them, the compiler copied
    /// and destroyed the whole through the type's metadata (value-witness
    /// calls), several hundred instructions a verification (callgrind).
    private struct Fetched: Sendable {
        var key: FetchedKey?
        var organization: OrganizationSnapshot?
        var count: FetchedCount?
    }

    /// An organization's stored request count for a quota period.
    private final class FetchedCount: Sendable {
        let organizationId: String
        let periodStart: Date
        let stored: Int

        init(organizationId: String, periodStart: Date, stored: Int) {
            self.organizationId = organizationId
            self.periodStart = periodStart
            self.stored = stored
        }
    }

    /// A look-up by digest; `match` is `nil` when no key has it.
    private final class FetchedKey: Sendable {
        let match: KeyMatch?

        init(_ match: KeyMatch?) {
            self.match = match
        }
    }

    private enum Step: Sendable {
        case answered
        case fetchChanges(since: Int64)
        case fetchCounts(since: Int64)
        case fetchKey
        case fetchOrganization(String)
        case fetchCount(organizationId: String, meter: String, window: QuotaWindow)
    }

    /// One verification under the lock. Everything that may need a read
    /// from the store is settled before anything is counted, so an attempt
    /// that asks for a read has changed nothing.
    private func attempt(_ memory: inout VerificationState.State, _ digest: KeyDigest, _ request: VerifyRequest,
                         now: Date, token: ChangeToken, fetched: borrowing Fetched, into result: inout VerifyResult) -> Step
    {
        let found: CachedKey?
        if let cached = memory.key(digest) {
            found = cached
        } else if let lookup = fetched.key {
            found = memory.key(digest, from: lookup.match, readAt: token)
        } else {
            return .fetchKey
        }
        guard let entry = found, entry.secretExpiresAt.map({ $0 > now }) ?? true else {
            result.outcome = .notFound
            return .answered
        }
        let counters = memory.counters(of: entry)
        /// Counts the verification of a key that exists, valid or not.
        func answer(_ outcome: VerifyOutcome, capability: String? = request.capability) -> Step {
            result.outcome = outcome
            result.organizationId = entry.record.organizationId
            result.keyId = entry.record.id
            result.kind = entry.record.kind
            // A refusal may name a capability the catalog lacks (a typo, a
            // made-up name): counted under none, or each new name would be
            // a count of its own, in memory and in the day's rows. A valid
            // verification's is the key's own, so only refusals ask.
            let counted = outcome == .valid ? capability
                : capability.flatMap { capabilityNames.contains(exactly: $0) ? $0 : nil }
            counters.record(outcome, capability: counted, day: QuotaCalendar.startOfDay(now), at: now,
                            origin: request.origin, ip: request.ip)
            return .answered
        }
        switch entry.record.state(at: now) {
        case .revoked: return answer(.revoked)
        case .expired: return answer(.expired)
        case .live: break
        }
        result.secretExpiresAt = entry.secretExpiresAt

        // The organization and the key's access on its plan.
        let grant: Grant
        if let cached = entry.grant, !cached.organization.hasExpired(at: now) {
            grant = cached
        } else {
            let organizationId = entry.record.organizationId
            let organization: CachedOrganization
            if let cached = memory.organization(organizationId, at: now) {
                organization = cached
            } else if let snapshot = fetched.organization {
                organization = memory.organization(snapshot, readAt: token)
            } else {
                return .fetchOrganization(organizationId)
            }
            grant = Grant(entry.record, in: organization, at: now)
            entry.grant = grant
        }
        let organization = grant.organization

        // The request quota's period and stored count: flushes here and
        // elsewhere move it (applyCounts); read again when a new period
        // begins, or when it was read while the counts were moving.
        if let requests = organization.requests {
            var window = requests.window
            if let resetsAt = window.resetsAt, now >= resetsAt {
                window = QuotaCalendar.window(requests.quota.period, at: now, anchor: organization.plan.subscription.periodStart)
            }
            if window != requests.window || !requests.isTracked {
                guard let count = fetched.count, count.organizationId == organization.id, count.periodStart == window.start
                else { return .fetchCount(organizationId: organization.id, meter: requests.meter, window: window) }
                requests.window = window
                requests.stored = count.stored
                requests.isTracked = memory.tracks(token)
            }
            if requests.counter.map({ $0.isRetired || $0.slot.periodStart != window.start }) ?? true {
                requests.counter = memory.meter(MeterSlot(organizationId: organization.id, meter: requests.meter,
                                                          periodStart: window.start))
                requests.counter?.limit = requests.quota.limit
            }
        }

        guard grant.isActive else { return answer(.planSuspended) }
        let needed = request.capability ?? request.method.flatMap { method in
            request.path.flatMap { catalog.routes.capability(method: method, path: $0)?.rawValue }
        }
        // A request naming neither a capability nor a route only authenticates.
        if request.capability != nil || request.method != nil {
            guard let needed, grant.usable.contains(exactly: needed) else {
                result.capability = needed.map(keyFormat.redacted)
                result.noRoute = needed == nil
                if needed == nil {
                    result.method = request.method.map(keyFormat.redacted)
                    result.path = request.path.map(keyFormat.redacted)
                }
                return answer(.insufficientCapability, capability: needed)
            }
        }
        if !entry.record.allowedOrigins.isEmpty {
            let origin = request.origin.flatMap { try? WebOrigin.normalize($0) }
            guard let origin, entry.record.allowedOrigins.contains(origin) else {
                // `nil`: the request came without an origin.
                result.origin = request.origin.map(keyFormat.redacted)
                return answer(.originNotAllowed, capability: needed)
            }
        }

        let limit = grant.rateLimit
        let at = GCRA.microseconds(now)
        // A request costing more than the key's minute takes the whole
        // minute: uncapped, it could never pass, and was told each time to
        // retry in the same number of seconds. Its quota counts its cost.
        let cost = min(request.cost, limit)
        // One limit per key across every process on the store when it
        // shares rate-limit state; else this process's own.
        let decision = if let sharedLimits {
            sharedLimits.admit(entry.rateTag, limit: limit, cost: cost, at: at)
        } else {
            GCRA.admit(&counters.arrival, limit: limit, cost: cost, at: at)
        }
        switch decision {
        case .limited(let retryAfter, let resetAt):
            result.retryAfter = retryAfter
            result.rateLimit = RateLimitState(limit: limit, remaining: 0, resetAt: resetAt)
            return answer(.rateLimited, capability: needed)
        case .allowed(let remaining, let resetAt):
            result.rateLimit = RateLimitState(limit: limit, remaining: remaining, resetAt: resetAt)
        }

        if let requests = organization.requests, let counter = requests.counter {
            // Stored plus counted here, checked and counted in one step under
            // the lock, so concurrent verifications cannot both take the last unit.
            let used = requests.stored + counter.amount
            if let limit = requests.quota.limit, used + request.cost > limit {
                result.quota = state(requests.quota, used: used, window: requests.window)
                // Whole seconds to the reset, rounded up; none for a quota that never resets.
                result.retryAfter = requests.window.resetsAt.map { Int(max(1, $0.timeIntervalSince(now).rounded(.up))) }
                return answer(.quotaExceeded, capability: needed)
            }
            counter.amount += request.cost
            result.quota = state(requests.quota, used: used + request.cost, window: requests.window)
        }
        result.capabilities = grant.usable
        return answer(.valid, capability: needed)
    }

    /// An organization's plan, key access and request count, from the store.
    private func organizationSnapshot(_ id: String, now: Date) throws(ServiceError) -> OrganizationSnapshot {
        try organizationSnapshots([id], now: now)[0]
    }

    /// Organizations' plans, key access and request counts, in their
    /// order: three reads of the store however many there are (their
    /// subscriptions, then the keys and the counts their plans ask about),
    /// where the store reads several together (``looksUpKeysTogether``).
    private func organizationSnapshots(_ ids: [String], now: Date) throws(ServiceError) -> [OrganizationSnapshot] {
        let records = try store { () throws(KeyStoreError) in try storage.subscriptions(organizationIds: ids) }
        let plans = ids.map { id in organizationPlan(records[id], organizationId: id) }
        let rankings = zip(ids, plans).map { id, plan in KeyAccess.ranking(plan.plan, organizationId: id) }
        var oldest = try store { () throws(KeyStoreError) in try storage.liveKeyIds(rankings.compactMap { $0 }) }
            .makeIterator()
        let meter = catalog.meter(source: .verifications)
        let quotas = plans.map { plan -> (meter: String, quota: Quota, window: QuotaWindow)? in
            guard let meter, let quota = plan.plan.quota(for: meter.id) else { return nil }
            return (meter.id.rawValue, quota, QuotaCalendar.window(quota.period, at: now, anchor: plan.subscription.periodStart))
        }
        var counts = try store { () throws(KeyStoreError) in
            try storage.readings(zip(ids, quotas).compactMap { id, quota in
                quota.map { (organizationId: id, meter: $0.meter, periodStart: $0.window.start) }
            })
        }.makeIterator()
        var snapshots: [OrganizationSnapshot] = []
        for (index, id) in ids.enumerated() {
            let plan = plans[index]
            let ranked = rankings[index] == nil ? nil : oldest.next()
            let access = KeyAccess.exceeds(plan.plan, oldest: ranked)
                ? KeyAccess(catalog: catalog, plan: plan.plan, oldest: ranked)
                : planAccess[plan.plan.id] ?? KeyAccess(catalog: catalog, plan: plan.plan, oldest: nil)
            // Which keys are within the maximum changes when one expires:
            // only an organization past its maximum asks when (rare).
            let validUntil = try access.withinLimit == nil ? nil : store { () throws(KeyStoreError) in
                try storage.nextExpiry(organizationId: id, kinds: plan.plan.apiKeys?.kinds.map(\.rawValue) ?? [])
            }
            let requests: StoredRequests? = quotas[index].map { ($0.meter, $0.quota, $0.window, counts.next() ?? 0) }
            snapshots.append(OrganizationSnapshot(organizationId: id, plan: plan, access: access, validUntil: validUntil,
                                                  requests: requests))
        }
        return snapshots
    }

    /// Requests already written to the store for a quota window.
    private func storedRequests(_ organizationId: String, meter: String, window: QuotaWindow) throws(ServiceError) -> Int {
        try store { () throws(KeyStoreError) in
            try storage.readings(organizationId: organizationId, periods: [(meter, window.start)]).first?.used ?? 0
        }
    }

    /// How many organizations' meter counts one batch of a flush writes:
    /// the meters' transaction holds the store's single writer, which a
    /// `keys.update` waits for.
    static let flushBatch = 200
    /// How many keys' counts one batch of a flush writes. On SQLite they go
    /// to the usage file, whose writer nothing but flushes waits for, so
    /// fewer, larger transactions: each commit costs the flush its log
    /// frames and index, and 200 keys a batch was about 150 commits a
    /// second under realistic traffic (docs/PERFORMANCE.md).
    static let flushKeyBatch = 1_000

    /// Writes the buffered usage to the database, counting each count
    /// exactly once: a failed flush loses nothing and the next one writes it.
    ///
    /// The counts go in batches of ``flushKeyBatch`` keys and ``flushBatch``
    /// meters. Keys' counts leave memory when the flush takes them, and
    /// those of batches it could not write go back; meters' counts leave as
    /// their batch commits, so quotas see them throughout. A flush after a busy
    /// second can hold tens of thousands of keys and organizations, and one
    /// transaction for all of them would keep every other writer (a
    /// `keys.update`, a billing event) waiting for its whole length (all the
    /// meters in the first batch held one for up to 300 ms). Keys go in
    /// order of id, organizations too: a batch's rows sit together in the
    /// store's indexes, and each page is written once per flush rather than
    /// once per batch. Each batch has an identity the store keeps with it.
    /// A batch whose write failed may still have been committed (a server
    /// that committed and then went away before saying so): it leaves the
    /// counters, and the next flush sends it again first, under the same
    /// identity, so the store adds it only if it had not.
    public func flushUsage() throws(ServiceError) {
        do {
            try flushPendingUsage()
        } catch {
            let now = clock.now()
            verification.flushFailures.withLock { failures in
                failures = FlushFailures(since: failures?.since ?? now, count: (failures?.count ?? 0) + 1, latest: error)
            }
            throw error
        }
        verification.flushFailures.withLock { $0 = nil }
    }

    private func flushPendingUsage() throws(ServiceError) {
        try verification.flushing.withLock { () throws(ServiceError) in
            if let unsure = verification.withState({ $0.unsureFlush }) {
                try store { () throws(KeyStoreError) in
                    try storage.flush(usage: unsure.usage, meters: unsure.meters, identity: unsure.identity,
                                      changesSeen: unsure.changesSeen)
                }
                verification.withState { $0.unsureFlush = nil }
                verification.lateCounts.withLock { $0.retried.formUnion(unsure.meters.map(MeterSlot.init)) }
            }
            // A count is weighed against the limit it was counted under,
            // unless its organization's plan changed lately, perhaps since:
            // the look after the flush weighs those against the current one
            // (rejoinLateCounts), so no event names a limit no longer in force.
            // Asked before anything is taken, so that a failure loses nothing;
            // not at all by a process with no counts to weigh.
            let replanned = verification.withState({ $0.holdsMeterCounters }) ? try subscriptionsChangedLately() : []
            let started = GCRA.microseconds(clock.now())
            let (pending, pendingMeters, changesSeen) = verification.withState { $0.takePending(sweepingAt: started) }
            let increments = pending.sorted { $0.keyId < $1.keyId }.flatMap(\.increments)
            let meters = pendingMeters.sorted { $0.increment.organizationId < $1.increment.organizationId }
            var (keysDone, metersDone) = (0, 0)
            repeat {
                let usage = Array(increments[keysDone..<min(keysDone + Self.flushKeyBatch, increments.count)])
                let taken = meters[metersDone..<min(metersDone + Self.flushBatch, meters.count)]
                let counts = taken.map { pending in
                    var increment = pending.increment
                    if replanned.map({ $0.contains(increment.organizationId) }) ?? true { increment.limit = nil }
                    return increment
                }
                let identity = UUID().uuidString
                var failure: KeyStoreError?
                do throws(KeyStoreError) {
                    try storage.flush(usage: usage, meters: counts, identity: identity, changesSeen: changesSeen)
                } catch {
                    failure = error
                }
                // The batch's meter counts leave the counters either way:
                // written, or, if its write failed, kept aside with its keys'
                // counts to be sent again first. The keys' counts of the
                // batches not tried go back into the counters.
                verification.withState { state in
                    state.remove(meters: taken)
                    if failure != nil {
                        state.unsureFlush = UnsureFlush(identity: identity, usage: usage, meters: counts,
                                                        changesSeen: changesSeen)
                        state.restore(increments[(keysDone + usage.count)...])
                    }
                }
                if let failure { throw ServiceError(failure) }
                verification.lateCounts.withLock { $0.written += counts.map(MeterSlot.init) }
                keysDone += usage.count
                metersDone += counts.count
            } while keysDone < increments.count || metersDone < meters.count
            storage.checkpoint()
            verification.withState { $0.sweep() }
            try rejoinLateCounts()
        }
    }
}
