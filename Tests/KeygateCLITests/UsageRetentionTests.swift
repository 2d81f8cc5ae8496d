import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// `keygate serve --usage-retention-days`: days of keys' usage past it (by
/// the 30 days a key's days wait, so its rows are rewritten once a month)
/// are folded into each key's totals by a pass at the event sweeps.
@Suite("keygate serve: usage retention")
struct UsageRetentionTests {
    static func day(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    @Test func daysPastTheRetentionLeaveUsageGetButNotTheKeysTotals() throws {
        let first = try ServeProcess()
        let created = try first.proKey(organization: "org_r", rateLimit: 60)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        let verified = try first.result("keys.verify", ["key": created["secret"] as! String, "capability": "booking.read"])
        #expect(verified["valid"] as? Bool == true)
        let verifiedOn = Self.day(.now)
        #expect(first.finish() == 0, "its last flush writes today's verification")

        // Forty days ago, as a store that has served for months holds it:
        // past a retention of today alone, and the 30 days after it.
        let longAgo = Date.now.addingTimeInterval(-40 * 86_400)
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live", "test"]), kinds: [], capabilities: [])
        try SQLiteKeyStorage(path: first.database.path, rules: rules).recordUsage([
            UsageIncrement(keyId: keyId, day: longAgo, valid: 7, invalid: 2, capabilities: ["booking.read": 9]),
        ])

        let serve = try ServeProcess(sharing: first, arguments: [
            "--usage-retention-days", "1", "--event-sweep-seconds", "1", "--log-level", "debug",
        ])
        #expect(serve.logs("keyDays=1 [KeygateCLI] keys' usage past the retention folded"), "\(serve.stderr)")
        let days = try serve.result("usage.get", [
            "organizationId": "org_r", "keyId": keyId, "from": Self.day(longAgo), "to": Self.day(.now),
        ])["days"] as? [[String: Any]] ?? []
        #expect(!days.contains { $0["date"] as? String == Self.day(longAgo) && ($0["valid"] as? Int ?? 0) > 0 },
                "the folded day is not listed: \(days)")
        #expect(days.contains { $0["date"] as? String == verifiedOn && $0["valid"] as? Int == 1 }, "\(days)")
        let key = try serve.result("keys.get", ["organizationId": "org_r", "keyId": keyId])
        #expect((key["usage"] as? [String: Any])?["valid"] as? Int == 8, "\(key)")
        #expect((key["usage"] as? [String: Any])?["invalid"] as? Int == 2, "\(key)")
        #expect(serve.finish() == 0)
    }

    /// A process given a shorter retention than another on the same
    /// database (a rolling change, a mistyped setting) folds nothing the
    /// other keeps, and says so; once the other has stopped (three sweeps
    /// on), it folds by its own.
    @Test(arguments: Backend.available) func aShorterRetentionFoldsNothingAnotherProcessKeeps(_ backend: Backend) throws {
        let first = try ServeProcess(on: backend)
        let created = try first.proKey(organization: "org_r", rateLimit: 60)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        #expect(first.finish() == 0)
        let longAgo = Date.now.addingTimeInterval(-40 * 86_400)
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live", "test"]), kinds: [], capabilities: [])
        try first.openStorage(rules: rules).recordUsage([
            UsageIncrement(keyId: keyId, day: longAgo, valid: 7, invalid: 0, capabilities: ["booking.read": 7]),
        ])

        let (keeping, folding) = try ServeProcess.sweepingPair(sharing: first, secondWith: ["--usage-retention-days", "1"])
        #expect(folding.logs("another process on this database keeps more days of usage by day"), "\(folding.stderr)")
        #expect(folding.stderr.contains("otherUsageRetentionDays=all"), "\(folding.stderr)")
        // Three more records, each before a sweep that would have folded.
        #expect(folding.logged("settings recorded", reaching: 4) >= 4)
        #expect(!folding.stderr.contains("past the retention folded"), "\(folding.stderr)")
        let days = try folding.result("usage.get", [
            "organizationId": "org_r", "keyId": keyId, "from": Self.day(longAgo), "to": Self.day(.now),
        ])["days"] as? [[String: Any]] ?? []
        #expect(days.contains { $0["date"] as? String == Self.day(longAgo) && $0["valid"] as? Int == 7 }, "\(days)")

        #expect(keeping.finish() == 0)
        #expect(folding.logs("keyDays=1 [KeygateCLI] keys' usage past the retention folded"), "\(folding.stderr)")
        #expect(folding.stderr.contains("no process on this database that recorded its settings lately keeps usage by day longer"),
                "\(folding.stderr)")
        #expect(folding.finish() == 0)
    }
}
