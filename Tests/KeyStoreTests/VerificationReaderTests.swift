import Foundation
import Testing
@testable import KeyStore

/// What verification reads when an organization enters its cache goes, on a
/// database file, through ``VerificationReader``'s own statements; inside a
/// transaction (and in memory), through GRDB. Both answer the same, and
/// what they answer is right.
@Suite("Verification's reads of an organization")
struct VerificationReaderTests {
    @Test func theReaderAnswersAsTheStoreDoesInsideATransaction() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try StoreFixture(database: try KeyDatabase.open(path: directory.appending(path: "k.sqlite").path))
        let storage = store.storage as! SQLiteKeyStorage
        #expect(storage.verificationReader != nil)

        let owner = ["owner_integration"]
        let both = ["owner_integration", "booking_partner"]
        var created: [String] = []
        var expiries: [Date?] = []
        for (index, kind) in ["owner_integration", "booking_partner", "owner_integration", "owner_integration",
                              "booking_partner", "owner_integration"].enumerated()
        {
            // Keys 1 and 4 expire, in an hour and in a minute; key 5 expires at once; key 2 is revoked.
            let expiresIn: TimeInterval? = [1: 3_600, 4: 60, 5: 1][index]
            let key = try store.create(store.newKey(kind: kind, expiresIn: expiresIn)).key
            created.append(key.id)
            expiries.append(key.expiresAt)
            store.clock.advance(by: 1)
        }
        _ = try storage.revoke(id: created[2], organizationId: "org_a", actor: nil)
        store.clock.advance(by: 1)
        _ = try storage.apply(BillingEvent(eventId: "e1", organizationId: "org_a", plan: "pro", occurredAt: store.clock.now()))
        let periodStart = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try storage.add(42, to: "api.requests", periodStart: periodStart, organizationId: "org_a", idempotencyKey: "u1", limit: nil)

        struct Answers: Equatable {
            var subscriptions: [SubscriptionRecord?]
            var liveKeys: [[String]]
            var expiries: [Date?]
            var readings: [MeterReading]
        }
        func answers(_ storage: any KeygateStorage) throws -> Answers {
            Answers(
                subscriptions: [try storage.subscription(organizationId: "org_a"), try storage.subscription(organizationId: "org_b")],
                liveKeys: [
                    try storage.liveKeyIds(organizationId: "org_a", kinds: owner, limit: 2),
                    try storage.liveKeyIds(organizationId: "org_a", kinds: both, limit: 10),
                    try storage.liveKeyIds(organizationId: "org_a", kinds: ["booking_partner"], limit: 10),
                    try storage.liveKeyIds(organizationId: "org_a", kinds: [], limit: 10),
                    try storage.liveKeyIds(organizationId: "org_a", kinds: both, limit: 0),
                    try storage.liveKeyIds(organizationId: "org_b", kinds: both, limit: 10),
                ],
                expiries: [
                    try storage.nextExpiry(organizationId: "org_a", kinds: owner),
                    try storage.nextExpiry(organizationId: "org_a", kinds: both),
                    try storage.nextExpiry(organizationId: "org_b", kinds: both),
                ],
                readings: try storage.readings(organizationId: "org_a", periods: [
                    ("api.requests", periodStart), ("api.requests", periodStart.addingTimeInterval(1)), ("other", periodStart),
                ]))
        }

        let read = try answers(storage)
        let subscription = try #require(read.subscriptions[0])
        #expect(subscription.organizationId == "org_a" && subscription.plan == "pro" && read.subscriptions[1] == nil)
        // Key 5 expired (one second, and more have passed), key 2 is revoked: oldest first.
        #expect(read.liveKeys == [
            [created[0], created[3]], [created[0], created[1], created[3], created[4]], [created[1], created[4]], [], [], [],
        ])
        // The owner keys alive never expire; of both kinds, key 4 is next.
        #expect(read.expiries == [nil, expiries[4], nil] && expiries[4] != nil)
        #expect(read.readings.map(\.used) == [42, 0, 0])

        let inTransaction = try #require(try storage.transaction { transaction in
            try? transaction.step { bound in try answers(bound) }
        })
        #expect(inTransaction == read)
    }
}
