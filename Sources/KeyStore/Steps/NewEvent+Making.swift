package import Foundation
import KeygateJSON

extension NewEvent {
    /// An event's public id: `evt_`, the time in milliseconds as seven
    /// base62 digits, 13 random ones (as key ids are made).
    package static func newId(at now: Date) -> String {
        "evt_" + KeyValidator.newKeyId(at: now).dropFirst("key_".count)
    }

    /// The event of a quota crossing `threshold` percent of `limit` in the
    /// period starting at `periodStart`: written once per threshold, limit
    /// and period, so a plan that raises the limit within a period has its
    /// own thresholds to cross.
    package static func quotaThreshold(organizationId: String, meter: String, periodStart: Date, limit: Int, used: Int,
                                       threshold: Int) -> NewEvent {
        NewEvent(
            type: .quotaThreshold, organizationId: organizationId,
            data: ["meter": .string(meter), "threshold": .integer(threshold), "limit": .integer(limit), "used": .integer(used),
                   "periodStart": .string(RFC3339.string(periodStart))],
            once: "quota:\(organizationId):\(meter):\(StorageCoding.milliseconds(periodStart)):\(limit):\(threshold)")
    }

    /// The thresholds (80 and 100 percent of `limit`) that going from
    /// `before` to `after` crossed.
    package static func crossedThresholds(limit: Int?, before: Int, after: Int) -> [Int] {
        guard let limit, limit > 0 else { return [] }
        return [80, 100].filter { threshold in
            let boundary = (limit * threshold + 99) / 100
            return before < boundary && after >= boundary
        }
    }
}
