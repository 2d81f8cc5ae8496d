import Foundation
import KeyStore
import KeygateLocalization
@testable import KeygateRPC
@testable import KeygateService
import Logging
import Testing

/// `health.check`: what a load balancer and a monitor read, and what each
/// check says when it does not pass, in the caller's language.
@Suite("health.check")
struct HealthTests {
    let localizer = try! Localizer.load(directory: Repository.root.appending(path: "Localization"), logger: Logger(label: "test"))

    /// A store that answers and lacks nothing passes: the database check
    /// with its round trip, rate limits, and no message anywhere.
    @Test func aStoreThatAnswersPasses() throws {
        let rpc = try RPCFixture()
        let result = try #require(try rpc.request("health.check", [:]).result)
        #expect(result["status"] as? String == "pass")
        #expect(result["httpStatus"] as? Int == 200)
        #expect(result["version"] as? String == KeygateVersion.current)
        let checks = try #require(result["checks"] as? [[String: Any]])
        #expect(checks.map { $0["id"] as? String } == ["database", "rateLimits"])
        #expect(checks.allSatisfy { $0["status"] as? String == "pass" && $0["code"] is NSNull && $0["message"] is NSNull })
        #expect(checks[0]["observedUnit"] as? String == "us")
        #expect((checks[0]["observedValue"] as? Int).map { $0 >= 0 } == true)
        #expect(checks[1]["observedValue"] is NSNull)
    }

    /// The verification counts grow with what verification did: a key
    /// read once, then answered from the cache.
    @Test func verificationCountsWhatHappened() throws {
        let rpc = try RPCFixture()
        _ = try rpc.request("subscriptions.setPlan", [
            "organizationId": "org_1", "plan": "pro", "eventId": "evt_1", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        let created = try #require(try rpc.request("keys.create", [
            "organizationId": "org_1", "name": "Zapier", "kind": "owner_integration", "capabilities": ["booking.read"],
        ]).result)
        let secret = try #require(created["secret"] as? String)
        func verification() throws -> [String: Any] {
            let result = try #require(try rpc.request("health.check", [:]).result)
            return try #require(result["verification"] as? [String: Any])
        }
        let before = try verification()
        for _ in 0..<3 { _ = try rpc.request("keys.verify", ["key": secret, "capability": "booking.read"]) }
        let after = try verification()
        #expect(after["verifications"] as? Int == (before["verifications"] as? Int ?? -1) + 3)
        #expect(after["keyReads"] as? Int == (before["keyReads"] as? Int ?? -1) + 1)
        #expect(after["cachedKeys"] as? Int == 1)
        #expect((after["cacheCapacity"] as? Int ?? 0) > 0)
    }

    /// A database that does not answer fails, with 503 for the load
    /// balancer and the reason's own message; a clock off, a read-only
    /// file, a network file system and slower reads each warn with their
    /// code and a message in the caller's language.
    @Test func everyProblemHasItsCodeAndMessage() throws {
        let statistics = VerificationStatistics(verifications: 0, keyReads: 0, organizationReads: 0, countReads: 0, cachedKeys: 0,
                                                cachedOrganizations: 0, cacheCapacity: 10, knownMisses: 0)
        let failing = HealthReport(
            database: .failure(ServiceError(.storageFailure, ["reason": "unreachable"])),
            shortcomings: [.rateLimitsOwn(reason: "no shared memory"), .readOnly, .networkFileSystem(type: "nfs4"), .slowerReads(["lookups"]),
                           .changesPolled(every: 1), .lowDiskSpace(free: 50 * 1_048_576, needed: 2_000 * 1_048_576)],
            clock: nil, verification: statistics)
        let failed = CheckHealth.Result(failing, localizer: localizer, language: "en")
        #expect(failed.status == .fail)
        #expect(failed.httpStatus == 503)
        #expect(failed.checks.map(\.id) == [.database, .rateLimits, .disk, .changes, .writes, .fileSystem, .reads])
        #expect(failed.checks.map(\.status) == [.fail, .warn, .warn, .warn, .warn, .warn, .warn])
        #expect(failed.checks.map(\.code)
            == [.storageFailure, .rateLimitsOwn, .lowDiskSpace, .changesPolled, .readOnly, .networkFileSystem, .slowerReads])
        #expect(failed.checks[0].message?.hasPrefix("The database server cannot be reached") == true)
        #expect(failed.checks[0].observedValue == nil)
        #expect(failed.checks[5].message?.contains("(nfs4)") == true)
        #expect(failed.checks[3].message?.hasPrefix("Changes made on other hosts reach this process by a poll every 1 second,") == true)
        #expect(failed.checks[2].observedValue == 50 && failed.checks[2].observedUnit == .mebibytes)
        #expect(failed.checks[2].message?.hasPrefix("The database's disk has 50 MiB free, less than the 2,000 MiB it should keep") == true,
                "\(failed.checks[2].message ?? "")")

        // Behind the server by 2.4 s, in Polish: a warning, the offset
        // in milliseconds, the message in the caller's language.
        let behind = HealthReport(database: .success(.microseconds(420)), shortcomings: [],
                                  clock: ClockOffset(seconds: 2.4, uncertainty: 0.001), verification: statistics)
        let warned = CheckHealth.Result(behind, localizer: localizer, language: "pl")
        #expect(warned.status == .warn)
        #expect(warned.httpStatus == 200)
        #expect(warned.checks.map(\.id) == [.database, .rateLimits, .clock])
        #expect(warned.checks[0].observedValue == 420)
        let clock = warned.checks[2]
        #expect(clock.status == .warn && clock.code == .clockOff)
        #expect(clock.observedValue == -2_400 && clock.observedUnit == .milliseconds)
        #expect(clock.message == localizer.string("health.clock_off.behind", ["seconds": .number(2)], language: "pl"))
        #expect(clock.message?.contains("2") == true)
        #expect(clock.message != localizer.string("health.clock_off.behind", ["seconds": .number(2)], language: "en"))

        // Flushes failing for 42 s on a full disk: a warning that says so.
        let unwritten = HealthReport(
            database: .success(.microseconds(90)), shortcomings: [],
            flushFailures: FlushFailures(since: Date(timeIntervalSince1970: 1_000), count: 42,
                                         latest: ServiceError(.storageFailure, ["reason": "full"])),
            at: Date(timeIntervalSince1970: 1_042), clock: nil, verification: statistics)
        let usage = try #require(CheckHealth.Result(unwritten, localizer: localizer, language: "en").checks.last)
        #expect(usage.id == .usage && usage.status == .warn && usage.code == .flushFailing)
        #expect(usage.observedValue == 42 && usage.observedUnit == .seconds)
        #expect(usage.message?.hasPrefix("Usage counts have not been written for 42 seconds: the disk is full.") == true)

        // Ahead by less than the tolerance: the clock passes, and says by how much.
        let close = HealthReport(database: .success(.milliseconds(1)), shortcomings: [],
                                 clock: ClockOffset(seconds: -0.3, uncertainty: 0.001), verification: statistics)
        let passed = CheckHealth.Result(close, localizer: localizer, language: "en")
        #expect(passed.status == .pass)
        #expect(passed.checks[2].status == .pass && passed.checks[2].observedValue == 300 && passed.checks[2].message == nil)
    }

    /// Every code a check can carry has its message, and a failing
    /// database's every reason reads in every language.
    @Test func everyProblemHasAMessageInEveryLanguage() {
        for problem in CheckHealth.Problem.allCases {
            #expect(localizer.contains("health.\(problem.rawValue)"), "health.\(problem.rawValue) has no message")
        }
        let statistics = VerificationStatistics(verifications: 0, keyReads: 0, organizationReads: 0, countReads: 0, cachedKeys: 0,
                                                cachedOrganizations: 0, cacheCapacity: 10, knownMisses: 0)
        for reason in ["unreachable", "busy", "corrupt", "io", "read_only", "full", "other"] {
            let report = HealthReport(database: .failure(ServiceError(.storageFailure, ["reason": reason])),
                                      shortcomings: [.changesPolled(every: 0.25), .networkFileSystem(type: "cifs"),
                                                     .lowDiskSpace(free: 0, needed: 100 * 1_048_576)],
                                      flushFailures: FlushFailures(since: .now, count: 1, latest: ServiceError(.storageFailure, ["reason": reason])),
                                      clock: ClockOffset(seconds: -7, uncertainty: 0), verification: statistics)
            for language in localizer.languages {
                let result = CheckHealth.Result(report, localizer: localizer, language: language)
                for check in result.checks {
                    #expect((check.message == nil) == (check.status == .pass))
                    if let message = check.message { #expect(!message.contains("{") && !message.contains("%"), "\(message)") }
                }
            }
        }
    }
}
