import KeygateRPC
import Testing

/// Which failures `keygate serve` logs: of its once-a-second usage flush,
/// and of requests the database failed.
@Suite("Failures worth a line")
struct FailureLogTests {
    let start = ContinuousClock.now

    func at(_ seconds: Int) -> ContinuousClock.Instant { start + .seconds(seconds) }

    /// A day of failures for one reason is a line a minute, and the
    /// success after them says how long they went on.
    @Test func failuresThatGoOnAreLoggedOnceAMinuteAndTheirEndOnce() {
        var log = FailureLog()
        var entries: [FailureLog.Entry] = []
        for second in 0..<86_400 {
            if let entry = log.failed("unreachable", at: at(second)) { entries.append(entry) }
        }
        #expect(entries.count == 1_440)
        #expect(entries.first == .failed)
        #expect(entries[1] == .stillFailing(failures: 61, seconds: 60))
        #expect(log.succeeded(at: at(86_400)) == .recovered(failures: 86_400, seconds: 86_400))
        #expect(log.succeeded(at: at(86_401)) == nil, "a success after successes is not news")
        #expect(log.failed("unreachable", at: at(86_402)) == .failed, "failures after a success start over")
    }

    /// A failure for another reason is logged at once.
    @Test func aNewReasonIsLoggedAtOnce() {
        var log = FailureLog()
        #expect(log.failed("busy", at: at(0)) == .failed)
        #expect(log.failed("busy", at: at(1)) == nil)
        #expect(log.failed("read_only", at: at(2)) == .failed)
        #expect(log.failed("read_only", at: at(3)) == nil)
        #expect(log.failed("read_only", at: at(62)) == .stillFailing(failures: 5, seconds: 62))
    }

    /// Failures more than a minute after the last start a run of their
    /// own: the RPC server, which cannot tell a success of the database
    /// from any other, logs each outage's first failure.
    @Test func failuresAfterAQuietMinuteStartARunOfTheirOwn() {
        var log = FailureLog()
        #expect(log.failed("unreachable", at: at(0)) == .failed)
        #expect(log.failed("unreachable", at: at(30)) == nil)
        #expect(log.failed("unreachable", at: at(3_600)) == .failed, "an hour later: another outage")
        #expect(log.failed("unreachable", at: at(3_660)) == .stillFailing(failures: 2, seconds: 60))
    }

    @Test func successesAloneAreNotLogged() {
        var log = FailureLog()
        #expect(log.succeeded(at: at(0)) == nil)
    }
}
