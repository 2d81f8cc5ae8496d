public import Foundation

/// Times on the wire: RFC 3339 in UTC with milliseconds, the precision the
/// store keeps (`2026-11-22T21:30:00.123Z`). Offsets are accepted on input;
/// digits finer than a millisecond are dropped (never rounded up into the
/// next second), so a time reads back exactly as it was written.
///
/// Both directions go through whole milliseconds, not through
/// `Double` seconds, so `.123` never comes back as `.122`.
public enum RFC3339 {
    public static func string(_ date: Date) -> String {
        string(milliseconds: milliseconds(date))
    }

    /// Whole milliseconds since 1970, rounded to the nearest: a time made
    /// from a millisecond count maps back to that count exactly.
    public static func milliseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1000).rounded())
    }

    public static func date(milliseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(milliseconds) / 1000)
    }

    static func string(milliseconds: Int64) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        write(milliseconds: milliseconds, into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// The UTC day of a time, `YYYY-MM-DD`: the time's text up to its `T`.
    public static func day(_ date: Date) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(24)
        write(milliseconds: milliseconds(date), into: &bytes)
        return String(decoding: bytes.prefix { $0 != UInt8(ascii: "T") }, as: UTF8.self)
    }

    static func write(milliseconds: Int64, into bytes: inout [UInt8]) {
        write(milliseconds: milliseconds) { bytes.append(contentsOf: $0) }
    }

    /// The time's text, handed to `append` in one piece (two for a year
    /// outside 0–9999).
    static func write(milliseconds: Int64, _ append: (UnsafeRawBufferPointer) -> Void) {
        let (days, millisecondOfDay) = floorDivide(milliseconds, 86_400_000)
        let (year, month, day) = civil(fromDays: days)
        let second = millisecondOfDay / 1000
        let millisecond = millisecondOfDay % 1000
        // The 24 bytes filled in place and appended at once: a reply writes
        // two times, and appending byte by byte (a uniqueness and capacity
        // check each) cost about 1,000 instructions a time (callgrind).
        var text: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &text) { raw in
            func two(_ value: Int64, at offset: Int) {
                raw[offset] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value / 10)
                raw[offset + 1] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: value % 10)
            }
            // A year outside 0–9999 is written as its number is: wider, or signed.
            let yearFits = (0...9999).contains(year)
            if yearFits {
                two(year / 100, at: 0)
                two(year % 100, at: 2)
            } else {
                var number = String(year)
                number.withUTF8 { append(UnsafeRawBufferPointer($0)) }
            }
            raw[4] = UInt8(ascii: "-")
            two(month, at: 5)
            raw[7] = UInt8(ascii: "-")
            two(day, at: 8)
            raw[10] = UInt8(ascii: "T")
            two(second / 3600, at: 11)
            raw[13] = UInt8(ascii: ":")
            two(second / 60 % 60, at: 14)
            raw[16] = UInt8(ascii: ":")
            two(second % 60, at: 17)
            raw[19] = UInt8(ascii: ".")
            raw[20] = UInt8(ascii: "0") &+ UInt8(truncatingIfNeeded: millisecond / 100)
            two(millisecond % 100, at: 21)
            raw[23] = UInt8(ascii: "Z")
            append(yearFits ? UnsafeRawBufferPointer(raw) : UnsafeRawBufferPointer(rebasing: raw[4...]))
        }
    }

    /// `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `nil` for anything else.
    public static func date(_ text: String) -> Date? {
        milliseconds(text).map { date(milliseconds: $0) }
    }

    /// The start of a UTC day written `YYYY-MM-DD` (RFC 3339's full-date,
    /// in its calendar: the Gregorian one, before 1582 too); `nil` for
    /// anything else, a day its month does not have included.
    public static func date(day text: String) -> Date? {
        text.utf8.count == 10 ? date(text + "T00:00:00Z") : nil
    }

    static func milliseconds(_ text: String) -> Int64? {
        let bytes = Array(text.utf8)
        guard bytes.count >= 20, bytes.count <= 40 else { return nil }
        var index = 0
        func number(_ width: Int) -> Int64? {
            guard index + width <= bytes.count else { return nil }
            var value: Int64 = 0
            for byte in bytes[index..<index + width] {
                guard (0x30...0x39).contains(byte) else { return nil }
                value = value * 10 + Int64(byte - 0x30)
            }
            index += width
            return value
        }
        func expect(_ characters: String) -> Bool {
            guard index < bytes.count, characters.utf8.contains(bytes[index]) else { return false }
            index += 1
            return true
        }
        guard let year = number(4), expect("-"), let month = number(2), expect("-"), let day = number(2),
            expect("Tt "), let hour = number(2), expect(":"), let minute = number(2), expect(":"), let second = number(2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day),
            hour < 24, minute < 60, second < 60
        else { return nil }
        var millisecond: Int64 = 0
        if index < bytes.count, bytes[index] == UInt8(ascii: ".") {
            index += 1
            let start = index
            while index < bytes.count, (0x30...0x39).contains(bytes[index]) {
                if index - start < 3 { millisecond = millisecond * 10 + Int64(bytes[index] - 0x30) }
                index += 1
            }
            guard index > start else { return nil }
            for _ in min(3, index - start)..<3 { millisecond *= 10 }
        }
        var offset: Int64 = 0
        if expect("Zz") {
            offset = 0
        } else if index < bytes.count, bytes[index] == UInt8(ascii: "+") || bytes[index] == UInt8(ascii: "-") {
            let sign: Int64 = bytes[index] == UInt8(ascii: "-") ? -1 : 1
            index += 1
            guard let hours = number(2), expect(":"), let minutes = number(2), hours < 24, minutes < 60 else { return nil }
            offset = sign * (hours * 60 + minutes) * 60_000
        } else {
            return nil
        }
        guard index == bytes.count else { return nil }
        let days = self.days(year: year, month: month, day: day)
        return days * 86_400_000 + ((hour * 60 + minute) * 60 + second) * 1000 + millisecond - offset
    }

    private static func floorDivide(_ value: Int64, _ divisor: Int64) -> (Int64, Int64) {
        let quotient = value >= 0 ? value / divisor : (value - divisor + 1) / divisor
        return (quotient, value - quotient * divisor)
    }

    private static func isLeap(_ year: Int64) -> Bool {
        year % 4 == 0 && (year % 100 != 0 || year % 400 == 0)
    }

    private static func daysIn(month: Int64, year: Int64) -> Int64 {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    // Howard Hinnant's days-from-civil and civil-from-days, proleptic Gregorian.
    private static func days(year: Int64, month: Int64, day: Int64) -> Int64 {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    private static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
