import Foundation
import KeyStore
@testable import KeygateService
import KeygateTestSupport
import Testing

/// ``KeygateService/health()``: the database's answer, what the store
/// lacks, and the clock against the database server's.
@Suite("Service health")
struct ServiceHealthTests {
    /// A store that answers and lacks nothing passes, on every backend; a
    /// SQLite file shares its rate limits; only PostgreSQL, whose server
    /// other hosts share, has a clock to compare.
    @Test(arguments: Backend.available) func aStoreThatAnswersPasses(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        fixture.clock.set(Date())
        let report = fixture.service.health()
        #expect(report.status == .pass)
        #expect(try report.database.get() >= .zero)
        #expect(report.shortcomings.isEmpty)
        #expect((report.clock != nil) == (backend != .sqlite))
        #expect(!report.clockIsOff)
    }

    @Test func aSQLiteFileSharesItsRateLimits() throws {
        let path = try ScratchFolder.make("keygate-health").appending(path: "k.sqlite").path
        let fixture = try ServiceFixture(database: try KeyDatabase.open(path: path))
        let report = fixture.service.health()
        #expect(report.status == .pass)
        #expect(report.shortcomings.isEmpty)
    }

    /// A store set up without its fast reads still answers: a warning
    /// that names what was not set up.
    @Test func slowerReadsWarn() throws {
        let path = try ScratchFolder.make("keygate-health").appending(path: "k.sqlite").path
        let fixture = try ServiceFixture(database: try KeyDatabase.open(path: path), watchesChanges: false)
        let report = fixture.service.health()
        #expect(report.status == .warn)
        guard case .slowerReads(let slower) = try #require(report.shortcomings.first) else {
            Issue.record("expected slower reads, got \(report.shortcomings)")
            return
        }
        #expect(slower.count == 1 && slower[0].hasPrefix("change watcher"))
        #expect("\(report.shortcomings[0])" == "reading more slowly: a fast read could not be set up (\(slower[0]))")
    }

    /// A database that does not answer fails with the store's reason, and
    /// no clock is read from it.
    @Test(arguments: Backend.available) func aDatabaseThatDoesNotAnswerFails(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let storage = LostAcknowledgement(base: fixture.storage)
        let service = KeygateService(catalog: fixture.catalog, storage: storage, clock: fixture.clock)
        storage.probeFailure.withLock { $0 = KeyStoreError(.storageFailure, ["reason": "unreachable"]) }
        let report = service.health()
        #expect(report.status == .fail)
        #expect(report.clock == nil)
        #expect(throws: ServiceError(.storageFailure, ["reason": "unreachable"])) { try report.database.get() }
        storage.probeFailure.withLock { $0 = nil }
        #expect(service.health().status == .pass)
    }

    /// Flushes that fail warn, counting from the first failure and saying
    /// why the latest failed, until one succeeds.
    @Test func failingFlushesWarnUntilOneSucceeds() throws {
        let flaky = try FlakyStore()
        let (fixture, storage, service) = (flaky.fixture, flaky.storage, flaky.service)
        try flaky.verify(times: 1)
        let first = fixture.clock.now()
        storage.refuseAfter.withLock { $0 = 0 }
        #expect(throws: ServiceError.self) { try service.flushUsage() }
        fixture.clock.advance(by: 5)
        storage.refuseAfter.withLock { $0 = 0 }
        #expect(throws: ServiceError.self) { try service.flushUsage() }
        let failing = service.health()
        #expect(failing.status == .warn)
        #expect(failing.flushFailures == FlushFailures(since: first, count: 2, latest: ServiceError(.storageFailure, ["reason": "full"])))
        #expect(failing.at == first + 5)
        try service.flushUsage()
        #expect(service.health().flushFailures == nil)
        #expect(service.health().status == .pass)
        #expect(try flaky.usage() == KeyUsage(valid: 1, invalid: 0))
    }

    /// A host whose clock runs 5 s ahead of the PostgreSQL server's warns,
    /// and says by how much; within the tolerance it passes.
    @Test(.enabled(if: Backend.postgresEnabled)) func aClockOffTheServersWarns() throws {
        let fixture = try ServiceFixture(backend: .postgres)
        fixture.clock.set(Date() + 5)
        let ahead = fixture.service.health()
        #expect(ahead.status == .warn && ahead.clockIsOff)
        let milliseconds = try #require(ahead.clock?.aheadMilliseconds)
        #expect((4_000...6_000).contains(milliseconds), "\(milliseconds) ms")
        fixture.clock.set(Date() + 0.5)
        let close = fixture.service.health()
        #expect(close.status == .pass && !close.clockIsOff)
    }
}
