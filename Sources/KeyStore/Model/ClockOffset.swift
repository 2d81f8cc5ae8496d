public import Foundation

/// How far this process's clock is from the clock of a database server
/// that other hosts share: rate limits, expiry and quota periods are kept
/// in clock time, so every host that shares them must agree on the time
/// (docs/OPERATIONS.md, "Clocks").
public struct ClockOffset: Sendable, Hashable {
    /// The server's clock minus this process's, in seconds: positive when
    /// this process's clock is behind.
    public var seconds: TimeInterval
    /// Half the round trip of the reading it was measured by: the offset
    /// is within this of the truth.
    public var uncertainty: TimeInterval

    /// How far a clock may be off, in seconds: NTP keeps hosts within
    /// milliseconds, and a reading's uncertainty is half a round trip to
    /// the server (well under a millisecond on a LAN), so a second off
    /// is a host whose synchronization has stopped, and already a second
    /// of waiting, or of a key's life, on the others.
    public static let tolerance: TimeInterval = 1

    /// This process's clock ahead of the server's, in whole milliseconds
    /// (negative: behind): the value `keygate serve` records and the
    /// `health.check` method reports.
    public var aheadMilliseconds: Int { Int((-seconds * 1_000).rounded()) }

    /// Whether a clock this many milliseconds ahead (or behind) is off by
    /// more than ``tolerance``: the one rule for serve's warning, `keygate
    /// status` and `health.check`.
    public static func isOff(aheadMilliseconds: Double) -> Bool {
        abs(aheadMilliseconds) > tolerance * 1_000
    }

    /// Whether this offset is off by more than ``tolerance``, as recorded
    /// (``aheadMilliseconds``), so that a reading and its record agree.
    public var isOff: Bool { Self.isOff(aheadMilliseconds: Double(aheadMilliseconds)) }

    public init(seconds: TimeInterval, uncertainty: TimeInterval) {
        self.seconds = seconds
        self.uncertainty = uncertainty
    }

    /// The offset from `readings`, each a server time read between two
    /// readings of this process's clock, by the one with the shortest
    /// round trip (NTP's choice: the least delayed is the least wrong);
    /// `nil` without readings.
    public static func measured(_ readings: [(before: Date, server: Date, after: Date)]) -> ClockOffset? {
        readings.min { $0.after.timeIntervalSince($0.before) < $1.after.timeIntervalSince($1.before) }.map { reading in
            let trip = reading.after.timeIntervalSince(reading.before)
            let middle = reading.before.addingTimeInterval(trip / 2)
            return ClockOffset(seconds: reading.server.timeIntervalSince(middle), uncertainty: trip / 2)
        }
    }
}
