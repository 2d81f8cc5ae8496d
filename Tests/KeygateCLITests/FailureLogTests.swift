@testable import KeygateCLI
import Testing

/// Which of a once-a-second task's failures `keygate serve` logs.
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

    @Test func successesAloneAreNotLogged() {
        var log = FailureLog()
        #expect(log.succeeded(at: at(0)) == nil)
    }
}
