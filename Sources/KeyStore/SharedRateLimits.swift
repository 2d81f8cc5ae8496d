/// Rate-limit state that every process using the same store shares, so a
/// key's limit holds once across them. The algorithm (GCRA) is the
/// service's; the store keeps, per key, the one number it needs (the
/// key's "theoretical arrival time") where every process sees it.
public protocol SharedRateLimits: Sendable {
    /// Runs `body` on the arrival time (microseconds since 1970; 0 for a key
    /// never seen) of the key `tag` names, under that key's lock: no other
    /// process or thread reads or changes it meanwhile. What `body` leaves
    /// in it is what every process sees next.
    func withArrival<T>(of tag: UInt64, _ body: (inout Int64) -> T) -> T
}

/// The tag of a key in ``SharedRateLimits``.
public enum RateTag {
    /// The same in every process (FNV-1a of the key's id, not Swift's
    /// per-process seeded hash), so it names one entry whichever process
    /// verifies whichever of the key's secrets.
    public static func of(keyId id: String) -> UInt64 {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in id.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3
        }
        return hash
    }
}
