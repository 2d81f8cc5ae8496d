public import Foundation

extension Localizer {
    /// When a key was last used, as a person says it: "Never", "Just now",
    /// "5 minutes ago", "yesterday", "3 months ago".
    public func relativeTime(_ date: Date?, now: Date, language: String) -> String {
        guard let date else { return string("time.never", language: language) }
        let seconds = Int(now.timeIntervalSince(date))
        let (key, name, value): (String, String, Int) = switch seconds {
        case ..<60: ("time.just_now", "", 0)
        case ..<3_600: ("time.minutes_ago", "minutes", seconds / 60)
        case ..<86_400: ("time.hours_ago", "hours", seconds / 3_600)
        case ..<(30 * 86_400): ("time.days_ago", "days", seconds / 86_400)
        case ..<(365 * 86_400): ("time.months_ago", "months", seconds / (30 * 86_400))
        default: ("time.years_ago", "years", seconds / (365 * 86_400))
        }
        return string(key, name.isEmpty ? [:] : [name: .number(value)], language: language)
    }
}
