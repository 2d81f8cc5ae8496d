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
/// Months are those of the Gregorian calendar extended to every year, the
/// calendar RFC 3339 dates are written in, whatever year billing names.
enum QuotaCalendar {
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
            let civil = CivilTime(now)
            // Without an anchor, calendar months: anchored at the first of this one.
            return monthContaining(civil, anchoredAt: anchor.map(CivilTime.init)
                                   ?? CivilTime(year: civil.year, month: civil.month, day: 1, seconds: 0))
        }
    }

    /// The start of the UTC day: Unix time has no leap seconds, so this is
    /// arithmetic, not a calendar computation (which verification cannot afford).
    static func startOfDay(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / 86_400).rounded(.down) * 86_400)
    }

    /// Months are counted from the anchor each time, never from the previous
    /// month, so a day clamped in February does not stick. By arithmetic on
    /// UTC dates, as the Gregorian calendar in UTC counts them (a month
    /// later is the same day and time, or the month's last day when it is
    /// shorter): through `Calendar` this was about 7 µs, paid by every
    /// organization entering verification's cache.
    ///
    /// The period runs from the start of month `offset` after the anchor to
    /// the next, searched from the months between the two dates.
    private static func monthContaining(_ now: CivilTime, anchoredAt anchor: CivilTime) -> QuotaWindow {
        var offset = (now.year - anchor.year) * 12 + (now.month - anchor.month)
        while anchor.adding(months: offset) > now { offset -= 1 }
        while anchor.adding(months: offset + 1) <= now { offset += 1 }
        return QuotaWindow(start: anchor.adding(months: offset).date, resetsAt: anchor.adding(months: offset + 1).date)
    }
}

/// A UTC date as year, month, day and the time into the day, in the
/// proleptic Gregorian calendar (the Gregorian calendar's rules in every
/// year, before 1582 too), as RFC 3339 writes dates. Not `Calendar`, whose
/// Gregorian calendar is Julian before October 1582.
struct CivilTime: Comparable {
    let year: Int
    let month: Int
    let day: Int
    /// Seconds into the day, fractions kept.
    let seconds: Double

    init(year: Int, month: Int, day: Int, seconds: Double) {
        self.year = year
        self.month = month
        self.day = day
        self.seconds = seconds
    }

    init(_ date: Date) {
        let time = date.timeIntervalSince1970
        let days = (time / 86_400).rounded(.down)
        // Howard Hinnant's civil_from_days, over 400-year eras.
        let z = Int(days) + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let shifted = (5 * dayOfYear + 2) / 153
        let month = shifted < 10 ? shifted + 3 : shifted - 9
        self.init(year: yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month: month,
                  day: dayOfYear - (153 * shifted + 2) / 5 + 1, seconds: time - days * 86_400)
    }

    var date: Date {
        // Howard Hinnant's days_from_civil.
        let year = month <= 2 ? self.year - 1 : self.year
        let era = (year >= 0 ? year : year - 399) / 400
        let yearOfEra = year - era * 400
        let dayOfYear = (153 * (month > 2 ? month - 3 : month + 9) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        let days = era * 146_097 + dayOfEra - 719_468
        return Date(timeIntervalSince1970: Double(days) * 86_400 + seconds)
    }

    /// The same day and time `months` later (earlier if negative), or the
    /// last day of that month if it is shorter.
    func adding(months: Int) -> CivilTime {
        // Floored, so that months before year 0 count back too.
        let index = year * 12 + (month - 1) + months
        let (year, month) = (index >= 0 ? index / 12 : (index - 11) / 12, (index % 12 + 12) % 12 + 1)
        return CivilTime(year: year, month: month, day: min(day, Self.days(inMonth: month, of: year)), seconds: seconds)
    }

    static func days(inMonth month: Int, of year: Int) -> Int {
        switch month {
        case 2: year % 4 == 0 && (year % 100 != 0 || year % 400 == 0) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    static func < (lhs: CivilTime, rhs: CivilTime) -> Bool {
        (lhs.year, lhs.month, lhs.day, lhs.seconds) < (rhs.year, rhs.month, rhs.day, rhs.seconds)
    }
}
