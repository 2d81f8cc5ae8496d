public import Foundation
import KeygateJSON

/// A UTC day in params, written `YYYY-MM-DD` (RFC 3339's full-date, JSON
/// Schema's `date` format): a day its month does not have is refused
/// naming the field, never read as a day of the next month.
public struct UTCDay: Decodable, Hashable, Sendable {
    /// The day's first instant, midnight UTC.
    public let start: Date

    public init(start: Date) {
        self.start = start
    }

    /// Read through ``ParamsDecoder``, which decodes the text itself; this
    /// serves any other decoder.
    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let start = RFC3339.date(day: text) else {
            throw DecodingError.typeMismatch(UTCDay.self, .init(codingPath: decoder.codingPath, debugDescription: "date"))
        }
        self.start = start
    }
}
