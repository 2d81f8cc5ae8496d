public import Foundation

/// Per-key rate limiting by GCRA (the generic cell rate algorithm): each key
/// may make `limit` requests in any minute, as a burst or spread out, and a
/// refused request learns exactly when the next one would pass.
///
/// The state is one time per key (its "theoretical arrival time"): in the
/// verifying process for a store without shared state, else where every
/// process sees it (``SharedRateLimits``).
public enum GCRA {
    /// Microseconds, so that arithmetic is exact for every limit from 1 to 1000.
    public static let minute: Int64 = 60_000_000

    public enum Decision: Equatable, Sendable {
        case allowed(remaining: Int, resetAt: Date)
        case limited(retryAfter: Int, resetAt: Date)
    }

    public static func admit(_ arrival: inout Int64, limit: Int, cost: Int, at now: Int64) -> Decision {
        let interval = minute / Int64(limit)
        let theoretical = max(arrival, now)
        let next = theoretical + interval * Int64(cost)
        let allowedAt = next - minute
        guard allowedAt <= now else {
            return .limited(retryAfter: seconds(until: allowedAt, from: now), resetAt: date(theoretical))
        }
        arrival = next
        return .allowed(remaining: Int((minute - (next - now)) / interval), resetAt: date(next))
    }

    /// Whole seconds from `now` until `moment`, rounded up: what a refused
    /// request is told to wait.
    public static func seconds(until moment: Int64, from now: Int64) -> Int {
        Int((moment - now + 999_999) / 1_000_000)
    }

    public static func microseconds(_ date: Date) -> Int64 {
        Int64((date.timeIntervalSince1970 * 1_000_000).rounded(.down))
    }

    public static func date(_ microseconds: Int64) -> Date {
        Date(timeIntervalSince1970: Double(microseconds) / 1_000_000)
    }
}
