import Crypto

/// Random numbers from a cryptographically secure generator, drawn in one
/// piece: BoringSSL's `RAND_bytes` (through swift-crypto's `SymmetricKey`),
/// which the kernel seeds.
///
/// `SystemRandomNumberGenerator` makes one `getrandom(2)` call per 64-bit
/// word; a key and its id took eight. Drawing the bytes a key needs at once
/// makes that one call into the library and none into the kernel.
struct SecureRandom: RandomNumberGenerator {
    private var words: [UInt64]
    private var index = 0

    /// A generator good for `words` 64-bit draws before it draws again.
    init(words: Int = 8) {
        self.words = Self.draw(words)
    }

    mutating func next() -> UInt64 {
        if index == words.count {
            words = Self.draw(words.count)
            index = 0
        }
        defer { index += 1 }
        return words[index]
    }

    private static func draw(_ count: Int) -> [UInt64] {
        SymmetricKey(size: SymmetricKeySize(bitCount: count * 64)).withUnsafeBytes { raw in
            (0..<count).map { raw.loadUnaligned(fromByteOffset: $0 * 8, as: UInt64.self) }
        }
    }
}
