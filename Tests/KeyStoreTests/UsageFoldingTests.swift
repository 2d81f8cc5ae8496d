import Foundation
import KeyStore
import KeygateJSON
import KeygateTestSupport
import Testing

/// Days of key usage past a retention, folded: their breakdown by day is
/// gone, while what a key says of its use (totals, last use) stays.
@Suite("Usage folded past a retention")
struct UsageFoldingTests {
    /// Midnight UTC of a `YYYY-MM-DD` day.
    static func day(_ text: String) -> Date { RFC3339.date(text + "T00:00:00Z")! }

    /// A whole folding pass, a key a step; the key-days it folded.
    static func pass(_ store: StoreFixture, before: String, due: String) throws -> Int {
        var cursor: String?
        var folded = 0
        for _ in 0..<100 {
            let step = try store.storage.foldUsage(before: day(before), due: day(due), after: cursor, keys: 1)
            folded += step.folded
            guard let next = step.next else { return folded }
            #expect(next > cursor ?? "", "a pass moves on")
            cursor = next
        }
        Issue.record("the pass did not end")
        return folded
    }

    /// Two keys, three days of use; then the days before Jan 12 folded.
    static func foldedStory(_ store: StoreFixture) throws {
        let a = try store.create().key
        let b = try store.create(store.newKey(name: "b")).key
        let morning = day("2026-01-10").addingTimeInterval(36_000)
        try store.storage.recordUsage([
            UsageIncrement(keyId: a.id, day: day("2026-01-10"), valid: 5, invalid: 1, lastUsedAt: morning,
                           lastOrigin: "https://a1.example", lastIP: "192.0.2.1", refusals: ["revoked": 1],
                           capabilities: ["booking.read": 6]),
            UsageIncrement(keyId: b.id, day: day("2026-01-10"), valid: 3, invalid: 0, lastUsedAt: morning.addingTimeInterval(60),
                           lastOrigin: "https://b.example", lastIP: "192.0.2.2"),
        ])
        try store.storage.recordUsage([
            UsageIncrement(keyId: a.id, day: day("2026-01-11"), valid: 2, invalid: 0, lastUsedAt: morning.addingTimeInterval(86_400),
                           lastOrigin: "https://a2.example", lastIP: "192.0.2.3", capabilities: ["booking.read": 2]),
        ])
        try store.storage.recordUsage([
            UsageIncrement(keyId: a.id, day: day("2026-01-20"), valid: 1, invalid: 0, capabilities: ["booking.read": 1]),
        ])
        let before = try [a.id, b.id].map { try store.storage.key(id: $0, organizationId: "org_a") }
        #expect(before[0].usage == KeyUsage(valid: 8, invalid: 1))
        #expect(before[0].lastOrigin == "https://a2.example")

        // Not yet due: the oldest day is not before Jan 10.
        #expect(try Self.pass(store, before: "2026-01-12", due: "2026-01-10") == 0)
        #expect(try Self.pass(store, before: "2026-01-12", due: "2026-01-11") == 3, "a's two days and b's one")
        #expect(try Self.pass(store, before: "2026-01-12", due: "2026-01-11") == 0, "nothing left to fold")

        let after = try [a.id, b.id].map { try store.storage.key(id: $0, organizationId: "org_a") }
        for (was, now) in zip(before, after) {
            #expect(now.usage == was.usage)
            #expect(now.lastUsedAt == was.lastUsedAt)
            #expect(now.lastOrigin == was.lastOrigin)
            #expect(now.lastIP == was.lastIP)
        }
        let january = (from: day("2026-01-01"), to: day("2026-01-31"))
        let days = try store.storage.usageDays(organizationId: "org_a", keyId: a.id, from: january.from, to: january.to)
        #expect(days.map(\.date) == ["2026-01-20"])
        #expect(days.first?.capabilities == ["booking.read": 1])
        let organization = try store.storage.usageDays(organizationId: "org_a", keyId: nil, from: january.from, to: january.to)
        #expect(organization.map(\.date) == ["2026-01-20"])

        // Counts of a folded day flushed late (a process that could not
        // reach the database for days) are folded by the next call, once.
        try store.storage.recordUsage([UsageIncrement(keyId: b.id, day: day("2026-01-10"), valid: 4, invalid: 2)])
        #expect(try Self.pass(store, before: "2026-01-12", due: "2026-01-12") == 1)
        #expect(try store.storage.key(id: b.id, organizationId: "org_a").usage == KeyUsage(valid: 7, invalid: 2))
        #expect(try store.storage.key(id: b.id, organizationId: "org_a").lastUsedAt == before[1].lastUsedAt)

        // A deleted key's folded usage goes with it.
        try store.storage.delete(id: b.id, organizationId: "org_a", actor: "user_1")
        try store.storage.recordUsage([UsageIncrement(keyId: a.id, day: day("2026-01-21"), valid: 1, invalid: 0)])
        #expect(try store.storage.key(id: a.id, organizationId: "org_a").usage == KeyUsage(valid: 9, invalid: 1))
        #expect(try store.rows(in: "key_usage_day") == 3, "the folded row, Jan 20 and 21 of the key left")
    }

    @Test(arguments: Backend.withPooler) func foldedDaysLeaveTotalsAndLastUse(_ backend: Backend) throws {
        try Self.foldedStory(try StoreFixture(backend))
    }

    /// On a SQLite file keys' counts are in the usage file beside it.
    @Test func foldedDaysLeaveTotalsAndLastUseInTheUsageFile() throws {
        let directory = try temporaryDirectory()
        try Self.foldedStory(try StoreFixture(database: try KeyDatabase.open(path: directory.appending(path: "k.sqlite").path)))
    }
}
