/// Which of a run of failures are worth a line in the log: the first, one
/// whose reason differs from the last logged, and one a minute while they
/// go on; then the first success, where the caller can tell one. A
/// database out of reach for a day is then some 1,400 lines, not one per
/// failed flush or request, and its return is said.
///
/// Failures more than ``repeatEvery`` after the last one start a run of
/// their own: a caller that cannot tell a success (the RPC server, whose
/// requests may not touch the database) still logs each outage's first.
package struct FailureLog {
    /// How often failures that go on for the same reason are logged again.
    package static let repeatEvery: Duration = .seconds(60)

    package enum Entry: Equatable {
        /// The first failure of a run, or one for another reason than the last logged.
        case failed
        /// Failures have gone on, for the same reason, since the last line.
        case stillFailing(failures: Int, seconds: Int)
        /// The first success after `failures` failures over `seconds`.
        case recovered(failures: Int, seconds: Int)
    }

    private var failures = 0
    private var since: ContinuousClock.Instant?
    private var last: ContinuousClock.Instant?
    private var logged: (reason: String, at: ContinuousClock.Instant)?

    package init() {}

    /// A failure at `now` for `reason`: the line to log, if any.
    package mutating func failed(_ reason: String, at now: ContinuousClock.Instant) -> Entry? {
        if let last, now - last > Self.repeatEvery { self = FailureLog() }
        failures += 1
        last = now
        if since == nil { since = now }
        guard let logged, logged.reason == reason else {
            self.logged = (reason, now)
            return .failed
        }
        guard now - logged.at >= Self.repeatEvery else { return nil }
        self.logged = (reason, now)
        return .stillFailing(failures: failures, seconds: seconds(since: now))
    }

    /// A success at `now`: the line to log if failures came before it.
    package mutating func succeeded(at now: ContinuousClock.Instant) -> Entry? {
        guard failures > 0 else { return nil }
        defer { self = FailureLog() }
        return .recovered(failures: failures, seconds: seconds(since: now))
    }

    private func seconds(since now: ContinuousClock.Instant) -> Int {
        Int((now - (since ?? now)).components.seconds)
    }
}
