import Foundation
import KeyStore
import PlanCatalog
import Locking

/// Everything verification keeps in memory, behind one lock, laid out so
/// that verifying a key seen before takes that lock once and hashes once
/// (the digest): the cached key refers to its organization, its derived
/// access and its own counters directly.
///
/// Two kinds of state live here:
///
/// - **Derived from the store** (keys by digest, organizations): it belongs
///   to one ``ChangeToken``. The first verification after keys, secrets or
///   subscriptions change, in this process or another, finds a newer token,
///   reads what changed (``KeyStore/ChangeSet``) and forgets exactly those
///   keys and organizations, so nothing is answered from stale memory and
///   everything else stays. A flush keeps it all: the stored request
///   counts it moved are read in one go and applied to the organizations
///   held (``State/applyCounts(_:after:through:)``). Keys and
///   organizations are bounded and evicted by CLOCK, so what is in use
///   stays; digests of no key are remembered apart, in a set of their own
///   that never pushes a key out.
/// - **Counted here** (per key: verifications per day, last use, the rate
///   limiter's time; per organization and period: requests): it survives
///   those resets and is written by ``KeygateService/flushUsage()``. Request
///   counts leave memory only once written; a key's counts when a flush
///   takes them, and back if it could not write them.
///
/// The objects it holds are reached only under its one lock, so their
/// mutable properties are `@exclusivity(unchecked)`: the run-time check
/// Swift makes on every access to a class's `var` repeats what the lock
/// already ensures, and cost about 250 instructions a verification.
final class VerificationState: Sendable {
    /// How many keys (and organizations) the cache holds; past it, those
    /// not used lately give way.
    static let defaultCapacity = 100_000
    /// How many digests of no key are remembered; past it they are
    /// forgotten together (they cost one look-up each to learn again).
    static let defaultMissCapacity = 65_536

    private let state: Locked<State>

    init(capacity: Int = defaultCapacity, missCapacity: Int = defaultMissCapacity) {
        state = Locked(State(capacity: capacity, missCapacity: missCapacity))
    }
    /// Held for the whole of a flush, so two flushes (the timer's and the
    /// last one at shutdown) never write the same counts twice.
    let flushing = Lock()
    /// The meter periods flushes wrote that ``KeygateService/rejoinLateCounts()``
    /// has yet to look at.
    let lateCounts = Locked(LateCountChecks())
    /// Since when flushes have failed, `nil` since the last that succeeded.
    let flushFailures = Locked<FlushFailures?>(nil)
    /// How many reads of keys, of organizations and of one organization's
    /// stored request count verification made: what the cache did not have
    /// (for tests and benchmarks).
    let reads = Locked((keys: 0, organizations: 0, counts: 0))
    /// The count of key reads when a preparation last found every key in
    /// memory: while no verification has read a key since, the next
    /// preparation would find the same and is skipped
    /// (``KeygateService/prepareVerifications(of:)``).
    let preparedAllAt = Locked<Int?>(nil)
    /// The shared rate limits' count of admissions that waited alone
    /// (``SharedRateLimits/admissionsWaited``) when a preparation last
    /// found no key to reserve for: while it has not moved, the next
    /// preparation would find none either and skips the rate limits.
    let preparedLimitsAt = Locked<Int?>(nil)

    /// Runs `body` under the lock.
    func withState<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        state.withLock { body(&$0) }
    }

    struct State: ~Copyable {
        private(set) var token: ChangeToken?
        /// The count version the stored counts of cached organizations are
        /// current at (see ``RequestQuota/isTracked``).
        private var counted: Int64?
        private var keys: ClockCache<KeyDigest, CachedKey>
        /// The cached digests of each key (its current secret and any in
        /// their grace period), to forget them when the key changes.
        private var digests: [String: KeyDigests] = [:]
        /// What cached keys repeat (kinds, capability lists), held once.
        private var shared = SharedValues()
        /// Digests of no key, so a flood of made-up keys costs one look-up each.
        private var misses: Set<KeyDigest> = []
        private let missCapacity: Int
        private var organizations: ClockCache<String, CachedOrganization>
        private var counters: [String: KeyCounters] = [:]
        private var meters: [MeterSlot: MeterCounter] = [:]
        /// Verifications answered, for ``KeygateService/verificationStatistics``.
        private(set) var answered = 0

        mutating func countAnswered() {
            answered &+= 1
        }

        /// How many keys, organizations and digests of no key are held,
        /// and how many keys (and organizations) may be.
        var held: (keys: Int, organizations: Int, misses: Int, capacity: Int) {
            (keys.count, organizations.count, misses.count, keys.capacity)
        }

        init(capacity: Int, missCapacity: Int) {
            keys = ClockCache(capacity: capacity)
            organizations = ClockCache(capacity: capacity)
            self.missCapacity = missCapacity
        }

        /// Where the change log stood when the cache last caught up, if
        /// `token` is further: the caller reads what changed since then
        /// (outside the lock) and brings it to ``advance(to:applying:)``.
        func behind(_ token: ChangeToken) -> Int64? {
            guard let current = self.token else { return nil }
            return token.keys > current.keys ? current.keys : nil
        }

        /// Moves to `token` if it is newer than what the cache holds. What
        /// changed up to it is forgotten; `nil` changes (the log no longer
        /// reached back far enough) forget everything. Applying changes
        /// twice, or after a concurrent call went further, only forgets more.
        /// An older token changes nothing: answering it from newer data is
        /// still correct.
        mutating func advance(to token: ChangeToken, applying changes: ChangeSet?) {
            guard let current = self.token, token.keys > current.keys else {
                advance(to: token)
                return
            }
            if let changes {
                forget(changes)
                subscriptionsChanged.formUnion(changes.subscriptions)
            } else {
                looksAtEverything = 2
                keys.removeAll()
                digests.removeAll(keepingCapacity: true)
                misses.removeAll(keepingCapacity: true)
                organizations.removeAll()
            }
            self.token = token
        }

        /// Moves to `token` where no key changed since the cache's own
        /// (``behind(_:)`` found nothing to read): only other data or the
        /// stored counts moved, and nothing held is forgotten. Every
        /// verification comes here, so it takes no change set (an empty
        /// one, made and destroyed per call, was 3% of a hit, callgrind).
        mutating func advance(to token: ChangeToken) {
            guard let current = self.token else {
                self.token = token
                counted = token.counts
                return
            }
            if token.keys == current.keys, token.data > current.data || token.counts > current.counts {
                self.token = token
            }
        }

        private mutating func forget(_ changes: ChangeSet) {
            for keyId in changes.keys {
                guard let held = digests.removeValue(forKey: keyId) else { continue }
                for digest in held { keys.remove(digest) }
            }
            for digest in changes.digests { misses.remove(digest) }
            for organizationId in changes.organizations {
                // Grants derived from it hold it too: they see the mark.
                organizations.remove(organizationId)?.isForgotten = true
            }
            if !changes.erased.isEmpty { dropCounts(of: changes.erased) }
        }

        /// Drops what was counted of erased organizations and not written:
        /// counted before the erasure, it would bring their request counts
        /// back. Their counters retire (a verification after the erasure,
        /// of a key created since, starts a new one), and a batch kept aside
        /// to be sent again loses their meters: sent again, it adds the
        /// rest; already written, it adds nothing. What a flush under way
        /// took, its store drops (``SubscriptionStorage/flush(usage:meters:identity:changesSeen:)``).
        private mutating func dropCounts(of erased: Set<String>) {
            retireMeters { slot, _ in erased.contains(slot.organizationId) }
            unsureFlush?.meters.removeAll { erased.contains($0.organizationId) }
        }

        /// Forgets the meter counters `retires` picks, marking them retired
        /// for whatever still holds them (``MeterCounter/isRetired``).
        private mutating func retireMeters(where retires: (MeterSlot, MeterCounter) -> Bool) {
            meters = meters.filter { slot, counter in
                guard retires(slot, counter) else { return true }
                counter.isRetired = true
                return false
            }
        }

        /// Organizations whose subscription changed, as caught up with since
        /// the last look at late counts, and in the look before
        /// (``recentSubscriptionChanges``).
        private var subscriptionsChanged: Set<String> = []
        private var subscriptionsChangedBefore: Set<String> = []
        /// How many more looks take every organization as changed: two after
        /// the cache forgot everything, not knowing what changed.
        private var looksAtEverything = 0

        /// The organizations whose subscription changed in the last two
        /// looks at late counts (``KeygateService/rejoinLateCounts()``), `nil`
        /// for all of them. Two: a request counted under a period's old
        /// start, before the change reached the cache, may be taken by the
        /// flush after the one whose look first saw the change.
        var recentSubscriptionChanges: Set<String>? {
            looksAtEverything > 0 ? nil : subscriptionsChanged.union(subscriptionsChangedBefore)
        }

        /// Ends a look at late counts: what it saw is kept for one more.
        mutating func subscriptionChangesLookedAt() {
            subscriptionsChangedBefore = subscriptionsChanged
            subscriptionsChanged = []
            looksAtEverything = max(0, looksAtEverything - 1)
        }

        /// Where the stored counts stood when the cache last caught up with
        /// them, if `token` is further: the caller reads the counts flushes
        /// moved since (outside the lock) and brings them to
        /// ``applyCounts(_:after:through:)``.
        func countsBehind(_ token: ChangeToken) -> Int64? {
            guard let counted, token.counts > counted else { return nil }
            return counted
        }

        /// Brings the stored counts of cached organizations up to count
        /// version `through`, from what flushes after `after` left in the
        /// store; ignored if the cache has moved meanwhile (the caller asks
        /// again). Counts of a period only grow, so a count read earlier
        /// never replaces a larger one.
        mutating func applyCounts(_ changes: [MeterChange], after: Int64, through: Int64) {
            guard counted == after else { return }
            for change in changes {
                guard let requests = organizations.peek(change.organizationId)?.requests,
                    requests.meter == change.meter, requests.window.start == change.periodStart
                else { continue }
                requests.stored = max(requests.stored, change.used)
            }
            counted = through
        }

        /// Whether a count read after seeing `token` stays current through
        /// ``applyCounts(_:after:through:)``: only if it was read at the
        /// count version the cache has caught up to.
        func tracks(_ token: ChangeToken) -> Bool {
            counted == token.counts
        }

        /// Whether what was read after seeing `token` may be kept: only if
        /// the cache has not moved past it meanwhile.
        func accepts(_ token: ChangeToken) -> Bool {
            self.token?.keys == token.keys
        }

        /// The cached look-up of a digest: `nil` if not cached, `.some(nil)`
        /// for a key known not to exist.
        func key(_ digest: KeyDigest) -> CachedKey?? {
            if let entry = keys.use(digest) { return .some(entry) }
            return misses.contains(digest) ? .some(nil) : nil
        }

        /// A cached key for a look-up made after seeing `token`, kept if
        /// the cache still belongs to that token.
        mutating func key(_ digest: KeyDigest, from match: KeyMatch?, readAt token: ChangeToken) -> CachedKey? {
            guard let match else {
                if accepts(token) {
                    if misses.count >= missCapacity { misses.removeAll(keepingCapacity: true) }
                    misses.insert(digest)
                }
                return nil
            }
            let entry = CachedKey(match, sharing: &shared)
            if accepts(token) {
                if let evicted = keys.insert(entry, for: digest) {
                    let keyId = evicted.value.record.id
                    if digests[keyId]?.remove(evicted.key) == false { digests[keyId] = nil }
                }
                if digests[entry.record.id]?.insert(digest) == nil { digests[entry.record.id] = KeyDigests(digest) }
            }
            return entry
        }

        /// The organization, if cached and still valid at `now`.
        func organization(_ id: String, at now: Date) -> CachedOrganization? {
            guard let organization = organizations.use(id), !organization.hasExpired(at: now) else { return nil }
            return organization
        }

        mutating func organization(_ snapshot: OrganizationSnapshot, readAt token: ChangeToken) -> CachedOrganization {
            let organization = CachedOrganization(snapshot, isTracked: tracks(token))
            if accepts(token) {
                organizations.insert(organization, for: snapshot.organizationId)
            }
            return organization
        }

        /// The key's counters, attaching them to the cached key on first use
        /// and again after a flush retired them.
        mutating func counters(of entry: CachedKey) -> KeyCounters {
            if let attached = entry.counters, !attached.isRetired { return attached }
            let counters = counters(ofKey: entry.record.id)
            entry.counters = counters
            return counters
        }

        /// The counters of a key by its id, new ones if it has none.
        private mutating func counters(ofKey keyId: String) -> KeyCounters {
            if let counters = self.counters[keyId] { return counters }
            let counters = KeyCounters(keyId: keyId)
            self.counters[keyId] = counters
            return counters
        }

        /// The pending requests of an organization's meter in one period.
        mutating func meter(_ slot: MeterSlot) -> MeterCounter {
            if let counter = meters[slot] { return counter }
            let counter = MeterCounter(slot)
            meters[slot] = counter
            return counter
        }

        /// A flush batch whose outcome is unknown, out of the counters until
        /// the next flush settles it (``KeygateService/flushUsage()``).
        var unsureFlush: UnsureFlush?

        /// Whether this process holds meter counters, written or not since
        /// (a flush forgets those it left at zero).
        var holdsMeterCounters: Bool { !meters.isEmpty }

        /// What this process counted in a meter's period and has not written.
        func pendingAmount(_ slot: MeterSlot) -> Int {
            let unsure = unsureFlush?.meters.lazy.filter {
                $0.organizationId == slot.organizationId && $0.meter == slot.meter && $0.periodStart == slot.periodStart
            }.map(\.amount).reduce(0, +) ?? 0
            return (meters[slot]?.amount ?? 0) + unsure
        }

        /// Everything counted and not yet written, for a flush. The keys'
        /// counts leave memory here: nothing verification decides reads them,
        /// and taking each key's day list (a reference) is all the lock is
        /// held for; a flush that cannot write some of them puts those back
        /// (``restore(_:)``). Subtracting each written batch instead held the
        /// lock about 40 ms a second under realistic traffic, hashing every
        /// key's id again. The same pass forgets the counters left with
        /// nothing pending and a whole rate-limit allowance at `now`, so
        /// memory follows the keys in use; a second pass over them, after
        /// the flush, held the lock as long again.
        ///
        /// Meters are copied and stay counted until ``remove(meters:)``
        /// confirms their write, so quota checks keep seeing them while a
        /// flush is under way. Each comes with its place among the counters
        /// taken, which stay here, so that removal changes the counter
        /// without hashing the meter's slot again.
        mutating func takePending(sweepingAt now: Int64)
            -> (usage: [PendingCounts], meters: [PendingMeter], changesSeen: Int64?)
        {
            var usage: [PendingCounts] = []
            usage.reserveCapacity(counters.count)
            counters = counters.filter { _, counters in
                if let pending = counters.take() { usage.append(pending) }
                guard counters.arrival <= now else { return true }
                counters.isRetired = true
                return false
            }
            taken = meters.values.filter { $0.amount > 0 }
            let meters = taken.enumerated().map { index, counter in
                PendingMeter(increment: MeterIncrement(organizationId: counter.slot.organizationId, meter: counter.slot.meter,
                                                       periodStart: counter.slot.periodStart, amount: counter.amount,
                                                       limit: counter.limit),
                             taken: index)
            }
            // Every count taken was counted at this position of the change
            // log or an earlier one: an erasure after it was not seen.
            return (usage, meters, token?.keys)
        }

        /// The meter counters the running flush took counts from, in the
        /// order of its ``PendingMeter/taken``; none is retired before the
        /// flush's ``sweep()``, which lets go of them.
        private var taken: [MeterCounter] = []

        /// Takes out the meter counts a flush wrote, keeping whatever arrived meanwhile.
        mutating func remove(meters written: ArraySlice<PendingMeter>) {
            for pending in written { taken[pending.taken].amount -= pending.increment.amount }
        }

        /// Puts back keys' counts a flush took and did not write, merged
        /// with whatever was counted since: the next flush writes them.
        mutating func restore(_ usage: ArraySlice<UsageIncrement>) {
            for increment in usage { counters(ofKey: increment.keyId).restore(increment) }
        }

        /// Forgets the meter counters a flush left at zero, so memory follows
        /// the organizations in use (keys' counters are forgotten as the
        /// flush takes their counts). Once per flush, after its batches.
        mutating func sweep() {
            taken = []
            retireMeters { _, counter in counter.amount == 0 }
        }
    }
}

/// A flush batch whose write failed and may have been committed all the
/// same: sent again, under its identity, before anything else.
struct UnsureFlush {
    let identity: String
    let usage: [UsageIncrement]
    /// Less an erased organization's, once its process learns of the erasure.
    var meters: [MeterIncrement]
    /// Where the change log stood when its counts were taken.
    let changesSeen: Int64?
}

/// A meter's count a flush took, and where its counter is among those
/// the flush took from (the counter itself stays inside the lock).
struct PendingMeter: Sendable {
    let increment: MeterIncrement
    let taken: Int
}

/// An organization's meter in one quota period.
struct MeterSlot: Hashable {
    let organizationId: String
    let meter: String
    let periodStart: Date
}

/// The meter periods flushes wrote, for ``KeygateService/rejoinLateCounts()``.
struct LateCountChecks: Sendable {
    /// Written by a flush's batches: looked at where the organization's
    /// subscription changed lately.
    var written: [MeterSlot] = []
    /// Written by a batch sent again, or kept from a look that failed:
    /// looked at whatever changed.
    var retried: Set<MeterSlot> = []
}

extension MeterSlot {
    init(_ increment: MeterIncrement) {
        self.init(organizationId: increment.organizationId, meter: increment.meter, periodStart: increment.periodStart)
    }
}

/// A key found by its digest. Lives only inside ``VerificationState``'s lock.
final class CachedKey: ClockEntry {
    let record: CachedRecord
    @exclusivity(unchecked) var referenced = false
    /// The key's entry in shared rate-limit state (``SharedRateLimits``).
    let rateTag: UInt64
    /// When this secret stops working: the grace deadline of a rotated-out
    /// secret, `nil` for the current one.
    let secretExpiresAt: Date?
    @exclusivity(unchecked) var counters: KeyCounters?
    /// What the key may do on its organization's plan, derived on first use.
    @exclusivity(unchecked) var grant: Grant?

    /// The match's key, with what many keys repeat taken from `shared`.
    init(_ match: KeyMatch, sharing shared: inout SharedValues) {
        record = CachedRecord(match.key, sharing: &shared)
        secretExpiresAt = match.secretExpiresAt
        rateTag = RateTag.of(keyId: record.id)
    }
}

/// A key's access on its plan, kept with the cached key so a verification
/// derives nothing. Valid as long as its organization is.
struct Grant {
    let organization: CachedOrganization
    /// Of a kind the plan allows and within its maximum of keys.
    let isActive: Bool
    /// The key's capabilities that the plan allows, in the key's order.
    let usable: [String]
    /// The key's requests per minute, clamped to the plan's ceiling.
    let rateLimit: Int

    init(_ key: CachedRecord, in organization: CachedOrganization, at now: Date) {
        self.organization = organization
        isActive = organization.access.status(of: key, at: now) == .active
        usable = organization.access.usableCapabilities(of: key)
        rateLimit = organization.access.rateLimit(of: key)
    }
}

/// The plan's request quota, its current period and the requests stored for it.
typealias StoredRequests = (meter: String, quota: Quota, window: QuotaWindow, stored: Int)

/// What the store says of an organization, read outside the lock. A class,
/// so that carrying it between attempts copies nothing.
final class OrganizationSnapshot: Sendable {
    let organizationId: String
    let plan: OrganizationPlan
    let access: KeyAccess
    /// When a key expiring changes which keys are within the plan's maximum.
    let validUntil: Date?
    /// The plan's request quota, its current period and the requests stored for it.
    let requests: StoredRequests?

    init(organizationId: String, plan: OrganizationPlan, access: KeyAccess, validUntil: Date?,
         requests: StoredRequests?) {
        self.organizationId = organizationId
        self.plan = plan
        self.access = access
        self.validUntil = validUntil
        self.requests = requests
    }
}

/// An organization's plan and access, and its request quota. Lives only
/// inside ``VerificationState``'s lock.
final class CachedOrganization: ClockEntry {
    let id: String
    @exclusivity(unchecked) var referenced = false
    /// Set when a change to the organization made this stale; grants that
    /// hold it derive themselves again.
    @exclusivity(unchecked) var isForgotten = false
    let plan: OrganizationPlan
    let access: KeyAccess
    let validUntil: Date?
    let requests: RequestQuota?

    init(_ snapshot: OrganizationSnapshot, isTracked: Bool) {
        id = snapshot.organizationId
        plan = snapshot.plan
        access = snapshot.access
        validUntil = snapshot.validUntil
        requests = snapshot.requests.map { requests in
            RequestQuota(meter: requests.meter, quota: requests.quota, window: requests.window, stored: requests.stored,
                         isTracked: isTracked)
        }
    }

    func hasExpired(at now: Date) -> Bool {
        isForgotten || validUntil.map { $0 <= now } ?? false
    }
}

/// The `api.requests` quota of an organization, as verification counts it.
/// A class, changed in place: it is read on every verification. Lives only
/// inside ``VerificationState``'s lock.
final class RequestQuota {
    let meter: String
    let quota: Quota
    @exclusivity(unchecked) var window: QuotaWindow
    /// Requests already written for the window.
    @exclusivity(unchecked) var stored: Int
    /// Whether `stored` is kept current: read at the count version the
    /// state had caught up to, and moved by every flush since
    /// (``VerificationState/State/applyCounts(_:after:through:)``). If
    /// not, it serves one verification and is read again at the next.
    @exclusivity(unchecked) var isTracked: Bool
    /// The requests counted here for the window and not yet written.
    @exclusivity(unchecked) var counter: MeterCounter?

    init(meter: String, quota: Quota, window: QuotaWindow, stored: Int, isTracked: Bool) {
        self.meter = meter
        self.quota = quota
        self.window = window
        self.stored = stored
        self.isTracked = isTracked
    }
}

/// What verification counts for one key between flushes, and the rate
/// limiter's time for it. Lives only inside ``VerificationState``'s lock.
final class KeyCounters {
    let keyId: String
    /// GCRA's "theoretical arrival time", in microseconds since 1970.
    @exclusivity(unchecked) var arrival: Int64 = 0
    /// Counts per UTC day not yet written: one entry, two around midnight.
    @exclusivity(unchecked) private var days: [DayCounts] = []
    /// Set when a flush forgets these counters; a cached key holding them
    /// fetches new ones rather than count into counters nobody will write.
    @exclusivity(unchecked) var isRetired = false

    init(keyId: String) {
        self.keyId = keyId
    }

    /// What a flush writes, taken out of these counters: `nil` when nothing is pending.
    func take() -> PendingCounts? {
        guard !days.isEmpty else { return nil }
        defer { days = [] }
        return PendingCounts(keyId: keyId, days: days)
    }

    func record(_ outcome: VerifyOutcome, capability: String?, day: Date, at now: Date, origin: String?, ip: String?) {
        if days.last?.day != day { days.append(DayCounts(day: day)) }
        let last = days.count - 1
        if outcome == .valid {
            days[last].use(at: now, origin: origin, ip: ip)
        } else {
            days[last].invalid += 1
            days[last].refusals.add(outcome.rawValue)
        }
        if let capability { days[last].capabilities.add(capability) }
    }

    /// Adds back a day's counts that a flush took and did not write; the
    /// last use is the later of the two.
    func restore(_ taken: UsageIncrement) {
        let index: Int
        if let found = days.firstIndex(where: { $0.day == taken.day }) {
            index = found
        } else {
            // Days stay in order: what was taken is never newer than what came since.
            index = days.firstIndex(where: { $0.day > taken.day }) ?? days.count
            days.insert(DayCounts(day: taken.day), at: index)
        }
        days[index].valid += taken.valid
        days[index].invalid += taken.invalid
        for (outcome, count) in taken.refusals { days[index].refusals.add(outcome, count) }
        for (capability, count) in taken.capabilities { days[index].capabilities.add(capability, count) }
        if let used = taken.lastUsedAt, days[index].lastUsedAt.map({ $0 < used }) ?? true {
            days[index].lastUsedAt = used
            days[index].lastOrigin = taken.lastOrigin
            days[index].lastIP = taken.lastIP
        }
    }

    /// One day's counts of the key.
    fileprivate struct DayCounts {
        let day: Date
        var valid = 0
        var invalid = 0
        var lastUsedAt: Date?
        var lastOrigin: String?
        var lastIP: String?
        var refusals = NameCounts()
        var capabilities = NameCounts()

        /// Counts a valid use. A method rather than four assignments
        /// through the array's subscript, where the two optional strings
        /// were copied and assigned through their type's metadata (about
        /// 220 instructions a verification, callgrind).
        mutating func use(at now: Date, origin: String?, ip: String?) {
            valid += 1
            lastUsedAt = now
            lastOrigin = origin
            lastIP = ip
        }
    }
}

/// A key's pending counts as they stood when a flush began.
struct PendingCounts {
    let keyId: String
    fileprivate let days: [KeyCounters.DayCounts]

    /// The counts of each day, as the store takes them. The last use's
    /// origin and address are kept as reported text is (cleaned and cut),
    /// here rather than in each verification: a flush runs once a second.
    var increments: [UsageIncrement] {
        days.map { day in
            UsageIncrement(keyId: keyId, day: day.day, valid: day.valid, invalid: day.invalid, lastUsedAt: day.lastUsedAt,
                           lastOrigin: day.lastOrigin.flatMap(KeyValidator.reported),
                           lastIP: day.lastIP.flatMap(KeyValidator.reported), refusals: day.refusals.dictionary,
                           capabilities: day.capabilities.dictionary)
        }
    }
}

/// Counts by name for the few names one key meets in a day (the
/// capabilities it asks for, the codes that refuse it): a short list
/// searched in order, as a dictionary would hash the name on every
/// verification.
struct NameCounts {
    private var entries: [(name: String, count: Int)] = []

    mutating func add(_ name: String, _ count: Int = 1) {
        if let index = entries.firstIndex(where: { $0.name == name }) {
            entries[index].count += count
        } else {
            entries.append((name, count))
        }
    }

    /// The names with a count, as the store takes them.
    var dictionary: [String: Int] {
        var dictionary: [String: Int] = [:]
        for entry in entries where entry.count != 0 { dictionary[entry.name, default: 0] += entry.count }
        return dictionary
    }
}

/// Requests of one organization's meter in one period, not yet written.
final class MeterCounter {
    let slot: MeterSlot
    @exclusivity(unchecked) var amount = 0
    /// The quota's limit in the period, for the store's threshold events.
    @exclusivity(unchecked) var limit: Int?
    /// Set when a flush forgets the counter (see ``KeyCounters/isRetired``).
    @exclusivity(unchecked) var isRetired = false

    init(_ slot: MeterSlot) {
        self.slot = slot
    }
}
