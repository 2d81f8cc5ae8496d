import Crypto

/// The SHA-256 of a whole raw key: the only form in which a key is stored.
///
/// Looking a key up by its digest is safe against timing attacks: what a
/// look-up's timing could reveal is how much of a digest matches, and that
/// says nothing usable about a key that would produce it.
public struct KeyDigest: Hashable, Sendable {
    /// The 32 bytes of the digest.
    public let bytes: [UInt8]

    init(bytes: [UInt8]) {
        precondition(bytes.count == SHA256.byteCount)
        self.bytes = bytes
    }

    init(of key: some Sequence<UInt8>) {
        var hasher = SHA256()
        hasher.update(data: Array(key))
        bytes = Array(hasher.finalize())
    }
}
