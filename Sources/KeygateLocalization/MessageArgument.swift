public import Foundation

/// A value to put into a message.
public enum MessageArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    case text(String)
    /// Formatted for the language, and what plural forms are chosen by.
    case number(Int)
    /// A calendar date, written out in the language (UTC).
    case date(Date)
    /// A date and time to the minute, written out in the language, with
    /// its time zone (UTC): for deadlines within a day, such as the end of
    /// a rotated-out secret's grace period.
    case moment(Date)
    /// Another message, such as a plan's name, in the same language.
    case message(String)

    public init(stringLiteral value: String) {
        self = .text(value)
    }

    public init(integerLiteral value: Int) {
        self = .number(value)
    }
}
