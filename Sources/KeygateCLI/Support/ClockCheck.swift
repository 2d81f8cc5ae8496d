import Foundation
import KeyStore

/// Whether a process's clock agrees with the database server's closely
/// enough for what other hosts keep in clock time (rate limits, expiry,
/// quota periods): what `keygate serve` warns of and `keygate status`
/// names.
enum ClockCheck {
    /// Whether a recorded offset (milliseconds) is off by more than
    /// ``ClockOffset/tolerance``, by the rule `health.check` applies too.
    static func isOff(milliseconds: String) -> Bool {
        guard let milliseconds = Double(milliseconds) else { return false }
        return ClockOffset.isOff(aheadMilliseconds: milliseconds)
    }

    /// A recorded offset in milliseconds as a person reads it: `-2.3 s` or `+12 ms`.
    static func text(milliseconds: String) -> String {
        guard let value = Double(milliseconds) else { return milliseconds }
        let sign = value > 0 ? "+" : value < 0 ? "-" : ""
        return abs(value) < 1_000 ? "\(sign)\(Int(abs(value).rounded())) ms"
            : "\(sign)\(String(format: "%.1f", abs(value) / 1_000)) s"
    }
}
