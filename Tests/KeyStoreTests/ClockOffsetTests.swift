import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// How far a process's clock is from the database server's, which hosts
/// that share rate limits, expiry and quota periods must agree with.
@Suite("Clock offset")
struct ClockOffsetTests {
    /// The store's clock is the test's, set far from the system's; the
    /// server's is the system's: the offset is the difference, measured
    /// within its round trip.
    @Test(arguments: Backend.withPooler) func theOffsetFromTheServersClockIsMeasured(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let offset = try store.storage.clockOffset()
        guard backend != .sqlite else {
            #expect(offset == nil, "one host, one clock")
            return
        }
        let measured = try #require(offset)
        let expected = Date().timeIntervalSince(store.clock.now())
        #expect(abs(measured.seconds - expected) < 2, "\(measured) against \(expected)")
        #expect(measured.uncertainty >= 0)
    }

    @Test func theQuickestReadingIsTheOneTaken() throws {
        let start = Date(timeIntervalSince1970: 1_790_000_000)
        let offset = ClockOffset.measured([
            (before: start, server: start.addingTimeInterval(10), after: start.addingTimeInterval(0.4)),
            (before: start.addingTimeInterval(1), server: start.addingTimeInterval(3.05), after: start.addingTimeInterval(1.1)),
        ])
        let taken = try #require(offset)
        #expect(abs(taken.seconds - 2) < 1e-6 && abs(taken.uncertainty - 0.05) < 1e-6, "\(taken)")
        #expect(ClockOffset.measured([]) == nil)
    }
}
