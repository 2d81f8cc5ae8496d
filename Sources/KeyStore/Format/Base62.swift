/// Base62 (`0-9A-Za-z`): URL- and shell-safe, and a double click selects a
/// whole key, which `-`, `+` or `/` would break.
enum Base62 {
    static let alphabet: [UInt8] = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    /// Each byte's value in the alphabet, or 0xFF for a byte outside it.
    static let values: [UInt8] = {
        var values = [UInt8](repeating: 0xFF, count: 256)
        for (value, character) in alphabet.enumerated() {
            values[Int(character)] = UInt8(value)
        }
        return values
    }()

    static func isDigit(_ byte: UInt8) -> Bool {
        values[Int(byte)] != 0xFF
    }

    /// `count` characters drawn uniformly from the alphabet.
    ///
    /// Rejection sampling keeps every character uniform: bytes of 248 and
    /// above are dropped, since 248 = 4 × 62 and `byte % 62` would otherwise
    /// favour the first eight characters.
    static func random(count: Int, using generator: inout some RandomNumberGenerator) -> [UInt8] {
        var characters: [UInt8] = []
        characters.reserveCapacity(count)
        while characters.count < count {
            var word = generator.next() as UInt64
            for _ in 0..<8 where characters.count < count {
                let byte = UInt8(truncatingIfNeeded: word)
                word >>= 8
                if byte < 248 {
                    characters.append(alphabet[Int(byte % 62)])
                }
            }
        }
        return characters
    }

    /// `value` in exactly `width` digits, most significant first (its
    /// lowest digits if it needs more).
    static func encode(_ value: UInt64, width: Int) -> [UInt8] {
        var digits = [UInt8](repeating: alphabet[0], count: width)
        var rest = value
        for index in stride(from: width - 1, through: 0, by: -1) {
            digits[index] = alphabet[Int(rest % 62)]
            rest /= 62
        }
        return digits
    }
}
