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
        let day = QuotaCalendar.utc.startOfDay(for: now)
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

    func add(_ amount: Int, organizationId: String, meter: String, periodStart: Date) {
        state.withLock { $0.meters[MeterKey(organizationId: organizationId, meter: meter, periodStart: periodStart), default: 0] += amount }
    }

    /// Requests counted here and not yet in the database.
    func pending(organizationId: String, meter: String, periodStart: Date) -> Int {
        state.withLock { $0.meters[MeterKey(organizationId: organizationId, meter: meter, periodStart: periodStart)] ?? 0 }
    }

    /// Takes everything buffered, leaving the buffer empty.
    func drain() -> (usage: [UsageIncrement], meters: [MeterIncrement]) {
        state.withLock { state in
            defer { state = State() }
            return (
                Array(state.usage.values),
                state.meters.map { MeterIncrement(organizationId: $0.key.organizationId, meter: $0.key.meter,
                                                  periodStart: $0.key.periodStart, amount: $0.value) })
        }
    }

    /// Puts back what a failed flush took, merged with what came meanwhile.
    func restore(usage: [UsageIncrement], meters: [MeterIncrement]) {
        state.withLock { state in
            for increment in usage {
                let slot = DayKey(keyId: increment.keyId, day: increment.day)
                guard var current = state.usage[slot] else {
                    state.usage[slot] = increment
                    continue
                }
                current.valid += increment.valid
                current.invalid += increment.invalid
                if current.lastUsedAt == nil, let used = increment.lastUsedAt {
                    current.lastUsedAt = used
                    current.lastOrigin = increment.lastOrigin
                    current.lastIP = increment.lastIP
                }
                state.usage[slot] = current
            }
            for increment in meters {
                state.meters[MeterKey(organizationId: increment.organizationId, meter: increment.meter,
                                      periodStart: increment.periodStart), default: 0] += increment.amount
            }
        }
    }
}
