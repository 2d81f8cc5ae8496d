/// What verification has done since the service started, and what its
/// cache holds: for an operator sizing the cache (a `keygate serve` logs
/// it every minute), and for tests.
///
/// The counts only grow; the difference between two readings is what
/// happened in between. A key read is a verification the cache could not
/// answer alone: a key not held (a made-up one once, then it is
/// remembered), or one a change made it forget.
public struct VerificationStatistics: Sendable, Hashable {
    /// Verifications answered, of well-formed keys (a malformed key is
    /// refused before the cache).
    public var verifications: Int
    /// Reads of the store for keys the cache did not hold.
    public var keyReads: Int
    /// Reads of the store for organizations (their plan, their keys' limit).
    public var organizationReads: Int
    /// Reads of an organization's stored request count.
    public var countReads: Int
    /// Keys held now, out of ``cacheCapacity``.
    public var cachedKeys: Int
    /// Organizations held now, out of ``cacheCapacity``.
    public var cachedOrganizations: Int
    /// How many keys, and how many organizations, the cache may hold.
    public var cacheCapacity: Int
    /// Digests of no key held now, so that a made-up key costs one read.
    public var knownMisses: Int
}

extension KeygateService {
    /// What verification has done since this service started, and what
    /// its cache holds now (``VerificationStatistics``).
    public var verificationStatistics: VerificationStatistics {
        let reads = verification.reads.withLock { $0 }
        let (answered, held) = verification.withState { ($0.answered, $0.held) }
        return VerificationStatistics(
            verifications: answered, keyReads: reads.keys, organizationReads: reads.organizations, countReads: reads.counts,
            cachedKeys: held.keys, cachedOrganizations: held.organizations, cacheCapacity: held.capacity,
            knownMisses: held.misses)
    }
}
