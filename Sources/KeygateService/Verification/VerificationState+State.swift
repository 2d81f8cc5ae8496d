import Foundation
import KeyStore
import PlanCatalog

extension VerificationState {
    /// What the state's one lock guards.
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
        /// Where the change log stood when the cache last learned which
        /// organizations were erased, if it has since started over (the log
        /// no longer reached back) while holding meter counts: they were
        /// counted before erasures it never learned of, so the flush that
        /// takes them asks the store from here rather than from ``token``.
        private var erasuresUnknownAfter: Int64?
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
                if !meters.isEmpty { erasuresUnknownAfter = min(erasuresUnknownAfter ?? current.keys, current.keys) }
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
            // log or an earlier one: an erasure after it was not seen. All
            // are taken, so what is counted from now on knows the token.
            defer { erasuresUnknownAfter = nil }
            return (usage, meters, erasuresUnknownAfter ?? token?.keys)
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
