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

    /// How far beyond a minute ahead of `now` a key's time may lie and
    /// still be taken as it is (``admit(_:limit:cost:at:)``).
    public static let clockTolerance: Int64 = minute

    /// Admits `cost` requests at `now` (microseconds since 1970) against
    /// the key's arrival time, moving it on if they pass.
    ///
    /// No admission moves the time past its own `now` plus a minute. A
    /// time a little further ahead is another clock's (a process that read
    /// the time a moment later, a host whose clock runs a few milliseconds
    /// ahead) and is honoured: forgetting it would let cells through
    /// twice. A time more than ``clockTolerance`` beyond that was set by
    /// a clock since stepped back (NTP correcting it, a virtual machine
    /// restored): the key is taken to have just used its whole burst, and
    /// waits a cell rather than the length of the step. The table of a
    /// SQLite store outlives its processes, so without this a day's step
    /// would shut out every key used in that day for a day, restarts or not.
    public static func admit(_ arrival: inout Int64, limit: Int, cost: Int, at now: Int64) -> Decision {
        let interval = minute / Int64(limit)
        // Kept even when refused, so that the key's time runs on from the step.
        if arrival > now + minute + clockTolerance { arrival = now + minute }
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
