public import KeyStore

extension KeygateService {
    /// How long, in microseconds, a key's rate-limit state outlasts the
    /// moment its whole allowance came back before it may be forgotten (an
    /// hour): far past any state a reservation still uses (a second), and
    /// past any disagreement of hosts' clocks, so that no host would find
    /// the key's time still ahead of its own.
    public static let rateLimitForgettingAge: Int64 = 3_600_000_000

    /// One step of a pass that forgets the shared rate-limit state of
    /// keys quiet for ``rateLimitForgettingAge`` (an hour), keys deleted
    /// or no longer used among them, so that it does not pile up over the
    /// keys ever verified. What each key's limit admits is unchanged:
    /// forgotten state is that of a key at its whole allowance. Only a
    /// store whose state has no fixed size has any to forget (PostgreSQL's
    /// `rate_limit` table; not SQLite's table beside the database).
    ///
    /// A pass goes through the state in order, `entries` entries a step (one
    /// transaction) after `cursor`; pass each step's ``RateLimitSweep/next``
    /// to the next, until it is `nil`. `keygate serve` runs a pass an hour;
    /// any number of processes may.
    public func forgetIdleRateLimits(after cursor: Int64?, entries: Int = 10_000) throws(ServiceError) -> RateLimitSweep {
        let before = GCRA.microseconds(clock.now()) - Self.rateLimitForgettingAge
        return try store { () throws(KeyStoreError) in
            try storage.forgetIdleRateLimits(before: before, after: cursor, entries: entries)
        }
    }
}
