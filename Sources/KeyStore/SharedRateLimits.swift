/// Rate-limit state that every process using the same store shares, so a
/// key's limit holds once across them: whatever the store does, the
/// requests admitted for a key across all processes never exceed what
/// ``GCRA`` admits for one process seeing them all.
///
/// A class: verification reaches it through an existential on every call,
/// and a class-bound one is a reference to retain, not a box to copy.
public protocol SharedRateLimits: AnyObject, Sendable {
    /// Admits `cost` requests of the key `tag` names at `now`
    /// (microseconds since 1970) under a limit of `limit` a minute, or
    /// says when they would pass.
    func admit(_ tag: UInt64, limit: Int, cost: Int, at now: Int64) -> GCRA.Decision
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

/// One step of a pass that forgets the rate-limit state of keys gone
/// quiet (``KeyStorage/forgetIdleRateLimits(before:after:entries:)``).
public struct RateLimitSweep: Sendable, Hashable {
    /// The keys whose state the step forgot.
    public var forgotten: Int
    /// The last entry the step looked at, where the next step goes on;
    /// `nil` when the pass has gone through every entry.
    public var next: Int64?

    public init(forgotten: Int, next: Int64?) {
        self.forgotten = forgotten
        self.next = next
    }
}
