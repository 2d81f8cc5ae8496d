import Foundation
import KeyStore
import Synchronization

/// Verification counts held in memory between flushes, so verifying a key
/// never writes to the database: per key and UTC day, valid and invalid
/// counts and the last use; per organization, meter and period, requests.
final class UsageBuffer: Sendable {
    private struct DayKey: Hashable {
        let keyId: String
        let day: Date
    }

    private struct MeterKey: Hashable {
        let organizationId: String
        let meter: String
        let periodStart: Date
    }

    private struct State {
        var usage: [DayKey: UsageIncrement] = [:]
        var meters: [MeterKey: Int] = [:]
    }

    private let state = Mutex(State())

    func record(keyId: String, valid: Bool, at now: Date, origin: String?, ip: String?) {
        let day = QuotaCalendar.startOfDay(now)
        state.withLock { state in
            let slot = DayKey(keyId: keyId, day: day)
            var increment = state.usage[slot] ?? UsageIncrement(keyId: keyId, day: day, valid: 0, invalid: 0)
            if valid {
                increment.valid += 1
                increment.lastUsedAt = now
                increment.lastOrigin = origin
                increment.lastIP = ip
            } else {
                increment.invalid += 1
            }
            state.usage[slot] = increment
        }
    }

    /// Counts `amount` requests if `stored` plus what is buffered stays
    /// within `limit`, in one step so concurrent verifications cannot both
    /// take the last unit. Returns the total used after counting, or `nil`
    /// (counting nothing) when the limit would be passed; `used` is then the
    /// total before.
    func reserve(_ amount: Int, stored: Int, limit: Int?, organizationId: String, meter: String, periodStart: Date)
        -> (admitted: Bool, used: Int)
    {
        let slot = MeterKey(organizationId: organizationId, meter: meter, periodStart: periodStart)
        return state.withLock { state in
            let used = stored + (state.meters[slot] ?? 0)
            if let limit, used + amount > limit { return (false, used) }
            state.meters[slot, default: 0] += amount
            return (true, used + amount)
        }
    }

    /// What is buffered now, left in place until ``remove(_:_:)`` confirms
    /// it was written: while a flush is under way, quota checks keep seeing
    /// these counts, so a request can never slip past a quota in between.
    func snapshot() -> (usage: [UsageIncrement], meters: [MeterIncrement]) {
        state.withLock { state in
            (Array(state.usage.values),
             state.meters.map { MeterIncrement(organizationId: $0.key.organizationId, meter: $0.key.meter,
                                               periodStart: $0.key.periodStart, amount: $0.value) })
        }
    }

    /// Removes what a flush wrote, keeping whatever arrived meanwhile.
    func remove(_ usage: [UsageIncrement], _ meters: [MeterIncrement]) {
        state.withLock { state in
            for written in usage {
                let slot = DayKey(keyId: written.keyId, day: written.day)
                guard var current = state.usage[slot] else { continue }
                current.valid -= written.valid
                current.invalid -= written.invalid
                if current.lastUsedAt == written.lastUsedAt {
                    current.lastUsedAt = nil
                    current.lastOrigin = nil
                    current.lastIP = nil
                }
                state.usage[slot] = current.valid == 0 && current.invalid == 0 && current.lastUsedAt == nil ? nil : current
            }
            for written in meters {
                let slot = MeterKey(organizationId: written.organizationId, meter: written.meter, periodStart: written.periodStart)
                let remaining = (state.meters[slot] ?? 0) - written.amount
                state.meters[slot] = remaining > 0 ? remaining : nil
            }
        }
    }
}
