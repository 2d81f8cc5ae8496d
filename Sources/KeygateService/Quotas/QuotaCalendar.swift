import Foundation
import PlanCatalog

/// The period a quota counts in at a given time.
struct QuotaWindow: Hashable {
    let start: Date
    /// `nil` for quotas that never reset.
    let resetsAt: Date?
}

/// Quota periods: UTC calendar days; UTC calendar months, or, when billing
/// gave a period, months anchored to its start (a subscription that renews on
/// the 31st resets on the last day of shorter months and on the 31st again
/// after them); and one everlasting period for counts that never reset.
enum QuotaCalendar {
    static let utc: Calendar = {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        return calendar
    }()

    /// The start of the everlasting period.
    static let beginning = Date(timeIntervalSince1970: 0)

    static func window(_ period: QuotaPeriod, at now: Date, anchor: Date?) -> QuotaWindow {
        switch period {
        case .none:
            return QuotaWindow(start: beginning, resetsAt: nil)
        case .day:
            let start = startOfDay(now)
            return QuotaWindow(start: start, resetsAt: start.addingTimeInterval(86_400))
        case .month:
            let anchor = anchor ?? utc.date(from: utc.dateComponents([.year, .month], from: now))!
            return monthContaining(now, anchoredAt: anchor)
        }
    }

    /// The start of the UTC day: Unix time has no leap seconds, so this is
    /// arithmetic, not a calendar computation (which verification cannot afford).
    static func startOfDay(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    /// Months are counted from the anchor each time, never from the previous
    /// month, so a day clamped in February does not stick.
    private static func monthContaining(_ now: Date, anchoredAt anchor: Date) -> QuotaWindow {
        func month(_ offset: Int) -> Date { utc.date(byAdding: .month, value: offset, to: anchor)! }
        let from = utc.dateComponents([.year, .month], from: anchor)
        let to = utc.dateComponents([.year, .month], from: now)
        var offset = (to.year! - from.year!) * 12 + (to.month! - from.month!)
        while month(offset) > now { offset -= 1 }
        while month(offset + 1) <= now { offset += 1 }
        return QuotaWindow(start: month(offset), resetsAt: month(offset + 1))
    }
}
