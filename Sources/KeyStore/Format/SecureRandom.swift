#if canImport(Glibc)
import Glibc
#endif

/// Random numbers from the kernel's CSPRNG, drawn in one piece.
///
/// `SystemRandomNumberGenerator` (and swift-crypto's `SymmetricKey(size:)`,
/// which draws through it) makes one `getrandom(2)` call per 64-bit word: a
/// key, its id and its event's id took sixteen (`perf`: 6% of a
/// `keys.create`). On Linux one call fills every word a generator holds:
/// `getentropy(3)`, one `getrandom(2)` for up to 256 bytes, answered whole
/// once the kernel's pool is ready (it blocks until then).
struct SecureRandom: RandomNumberGenerator {
    private var words: [UInt64]
    private var index = 0

    /// A generator good for `words` 64-bit draws (at most 32 at once)
    /// before it draws again.
    init(words: Int = 8) {
        precondition((1...32).contains(words), "at most 256 bytes per draw")
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
        var words = [UInt64](repeating: 0, count: count)
        #if os(Linux)
        words.withUnsafeMutableBytes { buffer in
            // Without randomness no key can be made; as the standard library does, stop.
            precondition(getentropy(buffer.baseAddress!, buffer.count) == 0, "getentropy failed: \(errno)")
        }
        #else
        var system = SystemRandomNumberGenerator()
        for index in words.indices { words[index] = system.next() }
        #endif
        return words
    }
}
