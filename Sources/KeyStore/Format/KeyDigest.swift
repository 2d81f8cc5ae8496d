import Crypto

/// The SHA-256 of a whole raw key: the only form in which a key is stored.
///
/// Looking a key up by its digest is safe against timing attacks: what a
/// look-up's timing could reveal is how much of a digest matches, and that
/// says nothing usable about a key that would produce it.
///
/// Held as four words rather than an array: no allocation, and hashing it
/// for the verification cache is four combines, not thirty-two.
public struct KeyDigest: Hashable, Sendable {
    private let words: (UInt64, UInt64, UInt64, UInt64)

    init(of key: UnsafeBufferPointer<UInt8>) {
        words = SHA256.hash(data: UnsafeRawBufferPointer(key)).withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    /// A digest as stored; `nil` unless it is 32 bytes.
    package init?(bytes: [UInt8]) {
        guard bytes.count == 32 else { return nil }
        words = bytes.withUnsafeBytes { raw in
            (raw.loadUnaligned(fromByteOffset: 0, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 8, as: UInt64.self),
             raw.loadUnaligned(fromByteOffset: 16, as: UInt64.self), raw.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
        }
    }

    /// The first 64 bits, for a table that hashes digests itself (the
    /// shared rate-limit table); uniform, as the whole digest is.
    public var prefix: UInt64 { words.0 }

    /// The 32 bytes of the digest, as stored.
    public var bytes: [UInt8] {
        withUnsafeBytes(of: words) { Array($0) }
    }

    public static func == (lhs: KeyDigest, rhs: KeyDigest) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2 && lhs.words.3 == rhs.words.3
    }

    /// The first 64 bits are enough to spread digests over a table: they
    /// are uniform, and nobody can choose keys whose digests share them
    /// (that takes about 2^64 hashes). Equality still compares all 256.
    public func hash(into hasher: inout Hasher) {
        hasher.combine(words.0)
    }
}
