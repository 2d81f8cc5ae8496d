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
        _ = try storage.add(42, to: "api.requests", periodStart: periodStart, organizationId: "org_a", idempotencyKey: "u1", reserve: false, limit: nil)

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

    /// A secret from before migration v13 names no key row: it is found
    /// through the key's id, by the reader and inside a transaction alike,
    /// until the next open names every secret's row, in batches, and
    /// clears the task the migration left.
    @Test func aSecretNamingNoKeyRowIsFoundThroughItsIdUntilTheOpenLinksIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "k.sqlite").path
        let pool = try KeyDatabase.open(path: path)
        let store = try StoreFixture(database: pool)
        let storage = store.storage as! SQLiteKeyStorage
        var keys: [(id: String, digest: KeyDigest)] = []
        for _ in 0..<20 {
            let issued = try store.create(store.newKey())
            keys.append((issued.key.id, try StoreFixture.rules.format.parse(issued.secret.unredacted).digest))
        }
        func linked() throws -> Int {
            try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(key_seq) FROM key_secret") ?? 0 }
        }
        #expect(try linked() == 20)

        // As a database migrated to v13 from an earlier version leaves them.
        try pool.write { db in
            try db.execute(sql: "UPDATE key_secret SET key_seq = NULL")
            try db.execute(sql: "INSERT INTO maintenance (task) VALUES (?)", arguments: [KeyDatabase.linkSecretsTask])
        }
        func found(_ storage: SQLiteKeyStorage, _ key: (id: String, digest: KeyDigest)) throws -> String? {
            guard case .found(let match) = try storage.find(digest: key.digest) else { return nil }
            return match.key.id
        }
        for key in keys {
            #expect(try found(storage, key) == key.id)
        }
        let inTransaction = try storage.transaction { transaction in
            try? transaction.step { bound in try keys.map { try found(bound as! SQLiteKeyStorage, $0) } }
        }
        #expect(inTransaction == keys.map(\.id))

        try KeyDatabase.linkSecrets(pool, batch: 7)
        #expect(try linked() == 20)
        #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM maintenance") } == 0)
        let rows = try pool.read { db in
            try Bool.fetchOne(db, sql: "SELECT COUNT(*) = 0 FROM key_secret s JOIN api_key k ON k.id = s.key_id WHERE k.seq <> s.key_seq")
        }
        #expect(rows == true)
        for key in keys {
            #expect(try found(SQLiteKeyStorage(database: pool, rules: StoreFixture.rules), key) == key.id)
        }
    }
}
