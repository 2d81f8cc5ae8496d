import Foundation
import KeyStore
import PlanCatalog
import Locking

/// Everything verification keeps in memory, behind one lock, laid out so
/// that verifying a key seen before takes that lock once and hashes once
/// (the digest): the cached key refers to its organization, its derived
/// access and its own counters directly.
///
/// Two kinds of state live here:
///
/// - **Derived from the store** (keys by digest, organizations): it belongs
///   to one ``ChangeToken``. The first verification after keys, secrets or
///   subscriptions change, in this process or another, finds a newer token,
///   reads what changed (``KeyStore/ChangeSet``) and forgets exactly those
///   keys and organizations, so nothing is answered from stale memory and
///   everything else stays. A flush keeps it all: the stored request
///   counts it moved are read in one go and applied to the organizations
///   held (``State/applyCounts(_:after:through:)``). Keys and
///   organizations are bounded and evicted by CLOCK, so what is in use
///   stays; digests of no key are remembered apart, in a set of their own
///   that never pushes a key out.
/// - **Counted here** (per key: verifications per day, last use, the rate
///   limiter's time; per organization and period: requests): it survives
///   those resets and is written by ``KeygateService/flushUsage()``. Request
///   counts leave memory only once written; a key's counts when a flush
///   takes them, and back if it could not write them.
///
/// The objects it holds are reached only under its one lock, so their
/// mutable properties are `@exclusivity(unchecked)`: the run-time check
/// Swift makes on every access to a class's `var` repeats what the lock
/// already ensures, and cost about 250 instructions a verification.
final class VerificationState: Sendable {
    /// How many keys (and organizations) the cache holds; past it, those
    /// not used lately give way.
    static let defaultCapacity = 100_000
    /// How many digests of no key are remembered; past it they are
    /// forgotten together (they cost one look-up each to learn again).
    static let defaultMissCapacity = 65_536

    private let state: Locked<State>

    init(capacity: Int = defaultCapacity, missCapacity: Int = defaultMissCapacity) {
        state = Locked(State(capacity: capacity, missCapacity: missCapacity))
    }
    /// Held for the whole of a flush, so two flushes (the timer's and the
    /// last one at shutdown) never write the same counts twice.
    let flushing = Lock()
    /// The meter periods flushes wrote that ``KeygateService/rejoinLateCounts()``
    /// has yet to look at.
    let lateCounts = Locked(LateCountChecks())
    /// Since when flushes have failed, `nil` since the last that succeeded.
    let flushFailures = Locked<FlushFailures?>(nil)
    /// How many reads of keys, of organizations and of one organization's
    /// stored request count verification made: what the cache did not have
    /// (for tests and benchmarks).
    let reads = Locked((keys: 0, organizations: 0, counts: 0))
    /// The count of key reads when a preparation last found every key in
    /// memory: while no verification has read a key since, the next
    /// preparation would find the same and is skipped
    /// (``KeygateService/prepareVerifications(of:)``).
    let preparedAllAt = Locked<Int?>(nil)
    /// The shared rate limits' count of admissions that waited alone
    /// (``SharedRateLimits/admissionsWaited``) when a preparation last
    /// found no key to reserve for: while it has not moved, the next
    /// preparation would find none either and skips the rate limits.
    let preparedLimitsAt = Locked<Int?>(nil)

    /// Runs `body` under the lock.
    func withState<Result: Sendable>(_ body: (inout State) -> Result) -> Result {
        state.withLock { body(&$0) }
    }
}
