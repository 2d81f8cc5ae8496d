/// An IPv4 address as the WHATWG URL standard reads a host whose last
/// label is a number: one to four parts, each decimal, octal (a leading
/// `0`) or hex (`0x`), the last filling the bytes the others leave
/// (`127.1` is `127.0.0.1`, `0x7f.1` too), written back in dotted decimal.
struct IPv4Address: CustomStringConvertible, Equatable {
    let value: UInt32

    /// Reads a host's labels; `nil` when they are no address (the
    /// standard's "IPv4 parser" failing), which a browser refuses as a host.
    init?(_ labels: [Substring]) {
        guard (1...4).contains(labels.count) else { return nil }
        var numbers: [UInt64] = []
        for label in labels {
            guard let number = Self.number(label) else { return nil }
            numbers.append(number)
        }
        guard numbers.dropLast().allSatisfy({ $0 <= 255 }),
            let last = numbers.last, last < UInt64(1) << (8 * (5 - numbers.count))
        else { return nil }
        var address = last
        for (index, number) in numbers.dropLast().enumerated() {
            address += number << (8 * (3 - index))
        }
        value = UInt32(address)
    }

    /// Whether a host whose last label is `label` is to be read as an IPv4
    /// address (the standard's "ends in a number" check).
    static func isNumber(_ label: Substring) -> Bool {
        (!label.isEmpty && label.utf8.allSatisfy { (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) })
            || number(label) != nil
    }

    var description: String {
        "\(value >> 24).\(value >> 16 & 0xFF).\(value >> 8 & 0xFF).\(value & 0xFF)"
    }

    /// One part: `nil` when it is not a number in its radix. A number
    /// above 2^32 - 1 is read as 2^32, which no part may be.
    private static func number(_ label: Substring) -> UInt64? {
        var digits = label.utf8[...]
        guard !digits.isEmpty else { return nil }
        var radix: UInt64 = 10
        if digits.count >= 2, digits.first == UInt8(ascii: "0"),
            [UInt8(ascii: "x"), UInt8(ascii: "X")].contains(digits.dropFirst().first!) {
            digits = digits.dropFirst(2)
            radix = 16
        } else if digits.count >= 2, digits.first == UInt8(ascii: "0") {
            digits = digits.dropFirst()
            radix = 8
        }
        var value: UInt64 = 0
        for character in digits {
            let digit: UInt64
            switch character {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = UInt64(character - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = UInt64(character - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = UInt64(character - UInt8(ascii: "A") + 10)
            default: return nil
            }
            guard digit < radix else { return nil }
            value = min(value * radix + digit, UInt64(UInt32.max) + 1)
        }
        return value
    }
}
