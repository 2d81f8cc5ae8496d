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

    /// Takes at once what admissions about to be made at `now` (the
    /// verifications of one pipelined read) would each have waited for on
    /// their own: where the state lives on a server, a reservation for
    /// every key in `demands` that has nothing usable in hand, in one round
    /// trip. A key with cells in hand, or refused until one is free, is
    /// left as it is; admissions then go on as before, and take from what
    /// was reserved here. Returns the number of keys it reserved for. By
    /// default it does nothing (state in this machine's memory or files
    /// costs no round trip).
    func prepare(_ demands: [RateDemand], at now: Int64) -> Int

    /// How many admissions so far waited for a reservation of their own:
    /// while it does not move, a preparation that found nothing to reserve
    /// would find the same again (0 by default).
    var admissionsWaited: Int { get }
}

extension SharedRateLimits {
    public func prepare(_ demands: [RateDemand], at now: Int64) -> Int { 0 }
    public var admissionsWaited: Int { 0 }
}

/// A key's admissions about to be made (``SharedRateLimits/prepare(_:at:)``).
public struct RateDemand: Sendable, Hashable {
    /// The key's tag (``RateTag``).
    public var tag: UInt64
    /// The key's limit a minute, as its admissions will ask for it.
    public var limit: Int
    /// The admissions about to be made, of one cell each.
    public var count: Int

    public init(tag: UInt64, limit: Int, count: Int) {
        self.tag = tag
        self.limit = limit
        self.count = count
    }
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
