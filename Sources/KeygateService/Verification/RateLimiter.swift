import Foundation
import Synchronization

/// Per-key rate limiting by GCRA (the generic cell rate algorithm): each key
/// may make `limit` requests in any minute, as a burst or spread out, and a
/// refused request learns exactly when the next one would pass.
///
/// The state is one time per key (its "theoretical arrival time"), kept in
/// this process. Several processes on one database each keep their own, so
/// together they allow up to N × limit (see the README).
final class RateLimiter: Sendable {
    /// Microseconds, so that arithmetic is exact for every limit from 1 to 1000.
    private static let minute: Int64 = 60_000_000
    private let arrival = Mutex<[String: Int64]>([:])

    enum Decision: Equatable {
        case allowed(remaining: Int, resetAt: Date)
        case limited(retryAfter: Int, resetAt: Date)
    }

    func admit(key: String, limit: Int, cost: Int, at now: Date) -> Decision {
        let now = Int64((now.timeIntervalSince1970 * 1_000_000).rounded(.down))
        let interval = Self.minute / Int64(limit)
        return arrival.withLock { arrivals in
            let theoretical = max(arrivals[key] ?? now, now)
            let next = theoretical + interval * Int64(cost)
            let allowedAt = next - Self.minute
            guard allowedAt <= now else {
                let wait = allowedAt - now
                return .limited(retryAfter: Int((wait + 999_999) / 1_000_000), resetAt: Self.date(theoretical))
            }
            arrivals[key] = next
            return .allowed(remaining: Int((Self.minute - (next - now)) / interval), resetAt: Self.date(next))
        }
    }

    /// Forgets keys whose allowance is whole again, so memory follows the
    /// keys in use, not every key ever seen.
    func prune(at now: Date) {
        let now = Int64((now.timeIntervalSince1970 * 1_000_000).rounded(.down))
        arrival.withLock { $0 = $0.filter { $0.value > now } }
    }

    private static func date(_ microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }
}
