import Foundation

/// Times on the wire: RFC 3339 in UTC with milliseconds, the precision the
/// store keeps (`2026-11-22T21:30:00.000Z`). Offsets are accepted on input.
enum RFC3339 {
    static func string(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }

    static func date(_ text: String) -> Date? {
        guard text.count <= 40 else { return nil }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        if let date = try? Date.ISO8601FormatStyle().parse(text) { return date }
        // Offsets other than Z.
        let withOffset = Date.ISO8601FormatStyle(timeZone: TimeZone(secondsFromGMT: 0)!)
        return try? withOffset.parse(text)
    }
}
