public import Foundation

/// Writes JSON text compactly: replies on the wire, audit details in the
/// store. The one place where strings are escaped.
///
/// It writes into a buffer of its own rather than an array: a reply is some
/// sixty small writes (names, punctuation, runs of a string), and each
/// append to an array checked uniqueness and capacity through a generic
/// path, about 90 instructions a run (callgrind). Noncopyable, as it owns
/// that buffer; ``bytes`` copies out what was written.
public struct JSONWriter: ~Copyable {
    @usableFromInline var base: UnsafeMutablePointer<UInt8>
    @usableFromInline var count = 0
    @usableFromInline var capacity: Int

    public init(capacity: Int = 256) {
        self.capacity = Swift.max(capacity, 16)
        base = .allocate(capacity: self.capacity)
    }

    deinit {
        base.deallocate()
    }

    /// The text written so far.
    public var bytes: [UInt8] {
        Array(UnsafeBufferPointer(start: base, count: count))
    }

    public mutating func write(_ value: JSON) {
        switch value {
        case .null: raw("null")
        case .bool(let flag): raw(flag ? "true" : "false")
        case .number(let text): raw(text)
        case .string(let text): string(text)
        case .array(let elements):
            raw(UInt8(ascii: "["))
            for (index, element) in elements.enumerated() {
                if index > 0 { raw(UInt8(ascii: ",")) }
                write(element)
            }
            raw(UInt8(ascii: "]"))
        case .object(let members):
            raw(UInt8(ascii: "{"))
            for (index, member) in members.enumerated() {
                if index > 0 { raw(UInt8(ascii: ",")) }
                string(member.key)
                raw(UInt8(ascii: ":"))
                write(member.value)
            }
            raw(UInt8(ascii: "}"))
        }
    }

    /// Text that is already JSON (or a piece of it), as it is.
    public mutating func raw(_ text: String) {
        var text = text
        text.withUTF8 { raw($0) }
    }

    @inlinable
    public mutating func raw(_ other: [UInt8]) {
        other.withUnsafeBufferPointer { raw($0) }
    }

    @inlinable
    public mutating func raw(_ byte: UInt8) {
        if count == capacity { grow(to: count + 1) }
        base[count] = byte
        count += 1
    }

    @inlinable
    public mutating func raw(_ buffer: UnsafeBufferPointer<UInt8>) {
        raw(UnsafeRawBufferPointer(buffer))
    }

    @inlinable
    public mutating func raw(_ buffer: UnsafeRawBufferPointer) {
        guard let source = buffer.baseAddress, !buffer.isEmpty else { return }
        if count + buffer.count > capacity { grow(to: count + buffer.count) }
        UnsafeMutableRawPointer(base + count).copyMemory(from: source, byteCount: buffer.count)
        count += buffer.count
    }

    /// Makes room for at least `needed` bytes, doubling so that a long
    /// text grows in few steps.
    @usableFromInline
    mutating func grow(to needed: Int) {
        let larger = Swift.max(needed, capacity * 2)
        let moved = UnsafeMutablePointer<UInt8>.allocate(capacity: larger)
        moved.initialize(from: base, count: count)
        base.deallocate()
        base = moved
        capacity = larger
    }

    /// An RFC 3339 time (``RFC3339``), without the quotes.
    public mutating func time(_ date: Date) {
        RFC3339.write(milliseconds: RFC3339.milliseconds(date)) { raw($0) }
    }

    /// A whole number, without making a `String` of it first.
    public mutating func integer(_ value: Int) {
        if value < 0 { raw(UInt8(ascii: "-")) }
        // `magnitude` is a UInt: even Int.min's has no overflow.
        var magnitude = value.magnitude
        // Twenty digits at most, written from the end of a buffer on the stack.
        var digits: (UInt64, UInt64, UInt64) = (0, 0, 0)
        withUnsafeMutableBytes(of: &digits) { buffer in
            var index = buffer.count
            repeat {
                index -= 1
                buffer[index] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
            } while magnitude > 0
            raw(UnsafeRawBufferPointer(rebasing: buffer[index...]))
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    public mutating func string(_ text: String) {
        raw(UInt8(ascii: "\""))
        var text = text
        text.withUTF8 { utf8 in
            // Runs that need no escape (nearly all text) are copied whole,
            // and found eight bytes at a time.
            var start = 0
            var index = 0
            while index < utf8.count {
                if index + 8 <= utf8.count,
                    !Self.anyNeedsEscape(UnsafeRawPointer(utf8.baseAddress! + index).loadUnaligned(as: UInt64.self))
                {
                    index += 8
                    continue
                }
                let byte = utf8[index]
                if byte < 0x20 || byte == 0x22 || byte == 0x5C {
                    raw(UnsafeBufferPointer(rebasing: utf8[start..<index]))
                    start = index + 1
                    escape(byte)
                }
                index += 1
            }
            raw(UnsafeBufferPointer(rebasing: utf8[start...]))
        }
        raw(UInt8(ascii: "\""))
    }

    /// Whether any of eight bytes is a control character, a quote or a
    /// backslash. Each test is the classic "has a byte below n" one, exact
    /// for whether there is such a byte (a borrow can only follow a real one).
    private static func anyNeedsEscape(_ word: UInt64) -> Bool {
        let ones: UInt64 = 0x0101_0101_0101_0101
        let highs: UInt64 = 0x8080_8080_8080_8080
        func hasZero(_ value: UInt64) -> UInt64 { (value &- ones) & ~value & highs }
        let control = (word &- ones &* 0x20) & ~word & highs
        return control | hasZero(word ^ (ones &* 0x22)) | hasZero(word ^ (ones &* 0x5C)) != 0
    }

    private mutating func escape(_ byte: UInt8) {
        raw(0x5C)
        switch byte {
        case UInt8(ascii: "\""): raw(0x22)
        case UInt8(ascii: "\\"): raw(0x5C)
        case 0x0A: raw(UInt8(ascii: "n"))
        case 0x0D: raw(UInt8(ascii: "r"))
        case 0x09: raw(UInt8(ascii: "t"))
        default:
            raw(UInt8(ascii: "u"))
            raw(UInt8(ascii: "0"))
            raw(UInt8(ascii: "0"))
            raw(Self.hex[Int(byte >> 4)])
            raw(Self.hex[Int(byte & 0xF)])
        }
    }
}
