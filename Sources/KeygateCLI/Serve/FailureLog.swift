/// Which failures of a task that runs every second are worth a line:
/// the first, one whose reason differs from the last logged, and one a
/// minute while they go on; then the first success. A database out of
/// reach for a day is then some 1,400 lines in the log, not 86,400, and
/// its return is said.
struct FailureLog {
    /// How often failures that go on for the same reason are logged again.
    static let repeatEvery: Duration = .seconds(60)

    enum Entry: Equatable {
        /// The first failure, or one for another reason than the last logged.
        case failed
        /// Failures have gone on, for the same reason, since the last line.
        case stillFailing(failures: Int, seconds: Int)
        /// The first success after `failures` failures over `seconds`.
        case recovered(failures: Int, seconds: Int)
    }

    private var failures = 0
    private var since: ContinuousClock.Instant?
    private var logged: (reason: String, at: ContinuousClock.Instant)?

    /// A failure at `now` for `reason`: the line to log, if any.
    mutating func failed(_ reason: String, at now: ContinuousClock.Instant) -> Entry? {
        failures += 1
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
    mutating func succeeded(at now: ContinuousClock.Instant) -> Entry? {
        guard failures > 0 else { return nil }
        defer { (failures, since, logged) = (0, nil, nil) }
        return .recovered(failures: failures, seconds: seconds(since: now))
    }

    private func seconds(since now: ContinuousClock.Instant) -> Int {
        Int((now - (since ?? now)).components.seconds)
    }
}
