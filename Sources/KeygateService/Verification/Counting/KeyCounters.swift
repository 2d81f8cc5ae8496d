import Foundation
import KeyStore

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

// In this file because it carries the counters' own day records, which
// nothing else reads.
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
