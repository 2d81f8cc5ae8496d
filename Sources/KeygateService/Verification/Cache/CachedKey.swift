import Foundation
import KeyStore

/// A key found by its digest. Lives only inside ``VerificationState``'s lock.
final class CachedKey: ClockEntry {
    let record: CachedRecord
    @exclusivity(unchecked) var referenced = false
    /// The key's entry in shared rate-limit state (``SharedRateLimits``).
    let rateTag: UInt64
    /// When this secret stops working: the grace deadline of a rotated-out
    /// secret, `nil` for the current one.
    let secretExpiresAt: Date?
    @exclusivity(unchecked) var counters: KeyCounters?
    /// What the key may do on its organization's plan, derived on first use.
    @exclusivity(unchecked) var grant: Grant?

    /// The match's key, with what many keys repeat taken from `shared`.
    init(_ match: KeyMatch, sharing shared: inout SharedValues) {
        record = CachedRecord(match.key, sharing: &shared)
        secretExpiresAt = match.secretExpiresAt
        rateTag = RateTag.of(keyId: record.id)
    }
}
