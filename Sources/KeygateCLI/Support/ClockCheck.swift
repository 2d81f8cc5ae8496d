import Foundation

/// Whether a process's clock agrees with the database server's closely
/// enough for what other hosts keep in clock time (rate limits, expiry,
/// quota periods): what `keygate serve` warns of and `keygate status`
/// names.
enum ClockCheck {
    /// How far a clock may be off, in seconds: NTP keeps hosts within
    /// milliseconds, and a reading's uncertainty is half a round trip to
    /// the server (well under a millisecond on a LAN), so a second off
    /// is a host whose synchronization has stopped, and already a second
    /// of waiting, or of a key's life, on the others.
    static let tolerance: TimeInterval = 1

    /// Whether a recorded offset (milliseconds) is off by more than
    /// ``tolerance``: the one rule for serve's warning and status's.
    static func isOff(milliseconds: String) -> Bool {
        guard let milliseconds = Double(milliseconds) else { return false }
        return abs(milliseconds) > tolerance * 1_000
    }

    /// A recorded offset in milliseconds as a person reads it: `-2.3 s` or `+12 ms`.
    static func text(milliseconds: String) -> String {
        guard let value = Double(milliseconds) else { return milliseconds }
        let sign = value > 0 ? "+" : value < 0 ? "-" : ""
        return abs(value) < 1_000 ? "\(sign)\(Int(abs(value).rounded())) ms"
            : "\(sign)\(String(format: "%.1f", abs(value) / 1_000)) s"
    }
}
