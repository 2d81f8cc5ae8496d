import Foundation
import GRDB
import KeygateTestSupport
import Testing
@testable import KeyStore

/// Keys' usage counts in a file of their own beside a file database
/// (`<path>-usage`): the flush writing them and a key change never wait for
/// each other, a batch sent again adds each file's part once, a deleted
/// key's counts go, and a database of an earlier version keeps its counts.
@Suite("Usage file: keys' counts beside the database")
struct UsageFileTests {
    private func fileStore(_ directory: URL) throws -> (StoreFixture, path: String) {
        let path = directory.appending(path: "keygate.sqlite").path
        return (try StoreFixture(database: try KeyDatabase.open(path: path)), path)
    }

    /// Runs `body` while another connection holds the write lock of the
    /// file at `path`, as another process's transaction would.
    private func whileAnotherWriterHolds(_ path: String, _ body: () throws -> Void) throws {
        try DatabaseQueue(path: path).writeWithoutTransaction { db in
            try db.execute(sql: "BEGIN IMMEDIATE")
            defer { try? db.execute(sql: "ROLLBACK") }
            try body()
        }
    }

    private func count(_ store: StoreFixture, key: String) -> UsageIncrement {
        UsageIncrement(keyId: key, day: store.clock.now(), valid: 1, invalid: 0, lastUsedAt: store.clock.now(),
                       capabilities: ["booking.read": 1])
    }

    /// Another process in the middle of a flush holds the usage file's
    /// write lock; a key change still commits (it would wait the busy
    /// timeout and fail if it needed that lock). And the other way round:
    /// with the database's write lock held, a flush of keys' counts commits.
    @Test func aKeyChangeAndAFlushOfKeysCountsDoNotWaitForEachOther() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, path) = try fileStore(directory)
        let key = try store.storage.create(store.newKey()).key

        try whileAnotherWriterHolds(KeyDatabase.usagePath(for: path)) {
            let renamed = try store.storage.update(id: key.id, organizationId: "org_a", changes: KeyChanges(name: "renamed"), actor: nil)
            #expect(renamed.name == "renamed")
        }
        try whileAnotherWriterHolds(path) {
            try store.storage.flush(usage: [count(store, key: key.id)], meters: [], identity: "f1")
        }
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage.valid == 1)
        // The database's connections attach the usage file read-only: only the flush writes it.
        #expect(throws: DatabaseError.self) {
            try store.database.write { db in try db.execute(sql: "DELETE FROM usage.key_usage_day") }
        }
    }

    /// The usage file is attached by a `file:` URI: a path with the
    /// characters a URI reserves still names it.
    @Test func aPathWithCharactersAURIReservesStillFindsTheUsageFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let folder = directory.appending(path: "a b?c#d%20e")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let (store, path) = try fileStore(folder)
        let key = try store.storage.create(store.newKey()).key
        try store.storage.flush(usage: [count(store, key: key.id)], meters: [], identity: "f1")
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage.valid == 1)
        let attached = try store.database.read { db in
            try Row.fetchAll(db, sql: "PRAGMA database_list").first { $0["name"] == "usage" }?["file"] as String?
        }
        #expect(attached == KeyDatabase.usagePath(for: path))
    }

    /// Opening a database whose usage file another process is flushing
    /// into (its write lock held) reads the file's schema version and goes
    /// on; it would wait out the busy timeout and fail if it took the lock.
    @Test func aProcessOpensTheDatabaseWhileAnotherFlushesKeysCounts() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, path) = try fileStore(directory)
        let key = try store.storage.create(store.newKey()).key
        try whileAnotherWriterHolds(KeyDatabase.usagePath(for: path)) {
            let other = SQLiteKeyStorage(database: try KeyDatabase.open(path: path), rules: StoreFixture.rules)
            #expect(try other.key(id: key.id, organizationId: "org_a").id == key.id)
        }
    }

    /// A usage file this process could not write when its store opened
    /// (restored read-only, say, or no file descriptor left): each flush
    /// fails, naming the file and why, while keys and reads go on; once
    /// the file can be written, the batch sent again lands, without a
    /// restart, and counts once.
    @Test(.enabled(if: UnwritableFile.canMake, "this user can make no file unwritable to itself"))
    func aUsageFileThatCouldNotBeWrittenAtOpenTakesCountsOnceItCan() throws {
        let directory = try temporaryDirectory()
        let (first, path) = try fileStore(directory)
        let key = try first.storage.create(first.newKey()).key
        let usagePath = KeyDatabase.usagePath(for: path)
        let locked = try UnwritableFile(usagePath)
        defer { locked.release() }

        let store = SQLiteKeyStorage(database: try KeyDatabase.open(path: path), rules: StoreFixture.rules, clock: first.clock)
        for _ in 0..<2 {
            let refusal = try #require(throws: KeyStoreError.self) {
                try store.flush(usage: [count(first, key: key.id)], meters: [], identity: "batch 1")
            }
            #expect(refusal.code == .storageFailure && refusal.parameters["reason"] == "read_only")
            #expect(refusal.parameters["detail"] == "\(usagePath): this process may read the file but not write it")
        }
        let renamed = try store.update(id: key.id, organizationId: "org_a", changes: KeyChanges(name: "renamed"), actor: nil)
        #expect(renamed.name == "renamed" && renamed.usage.valid == 0)

        locked.release()
        try store.flush(usage: [count(first, key: key.id)], meters: [], identity: "batch 1")
        try store.flush(usage: [count(first, key: key.id)], meters: [], identity: "batch 1")
        #expect(try store.key(id: key.id, organizationId: "org_a").usage.valid == 1)
    }

    /// A batch whose meters could not be written after its keys' counts
    /// were: sent again under the same identity, each part counts once.
    @Test func aBatchSentAgainAddsEachFilesPartOnce() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try fileStore(directory)
        let key = try store.storage.create(store.newKey()).key
        let meter = MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: store.clock.now(), amount: 2)
        try store.database.writeWithoutTransaction { db in
            try db.execute(sql: "CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.meter_usage BEGIN SELECT RAISE(ABORT, 'refused'); END")
        }
        #expect(throws: KeyStoreError.self) {
            try store.storage.flush(usage: [count(store, key: key.id)], meters: [meter], identity: "batch 1")
        }
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage.valid == 1)
        try store.database.writeWithoutTransaction { db in try db.execute(sql: "DROP TRIGGER temp.refuse") }

        try store.storage.flush(usage: [count(store, key: key.id)], meters: [meter], identity: "batch 1")
        try store.storage.flush(usage: [count(store, key: key.id)], meters: [meter], identity: "batch 1")
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage.valid == 1)
        let used = try store.database.read { db in try Int.fetchOne(db, sql: "SELECT used FROM meter_usage") }
        #expect(used == 2)
    }

    /// A deleted key's counts leave the usage file once the deletion commits.
    @Test func aDeletedKeysCountsLeaveTheUsageFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try fileStore(directory)
        let kept = try store.storage.create(store.newKey()).key
        let deleted = try store.storage.create(store.newKey()).key
        try store.storage.flush(usage: [count(store, key: kept.id), count(store, key: deleted.id)], meters: [], identity: "f1")
        try store.storage.delete(id: deleted.id, organizationId: "org_a", actor: nil)

        let rows = try store.database.read { db in
            try String.fetchAll(db, sql: """
                SELECT key_id FROM usage.key_usage_day UNION ALL SELECT key_id FROM usage.key_usage_count
                """)
        }
        #expect(rows == [kept.id, kept.id])
    }

    /// In a unit of work, a deletion whose command failed after its DELETE
    /// (here its audit entry is refused) rolls back to its savepoint while
    /// the unit commits: the key and its counts stay. One that stands loses
    /// its counts once the unit commits.
    @Test func aDeletionRolledBackInsideACommittedUnitKeepsTheKeysCounts() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try fileStore(directory)
        let storage = store.storage as! SQLiteKeyStorage
        let failing = try storage.create(store.newKey()).key
        let deleted = try storage.create(store.newKey()).key
        try storage.flush(usage: [count(store, key: failing.id), count(store, key: deleted.id)], meters: [], identity: "f1")
        try store.database.writeWithoutTransaction { db in
            try db.execute(sql: """
                CREATE TEMP TRIGGER refuse BEFORE INSERT ON main.audit_entry WHEN NEW.key_id = '\(failing.id)'
                BEGIN SELECT RAISE(ABORT, 'refused'); END
                """)
        }
        let outcomes = try storage.transaction { transaction in
            [failing.id, deleted.id].map { id in
                (try? transaction.step { bound in try bound.delete(id: id, organizationId: "org_a", actor: nil) }) != nil
            }
        }
        #expect(outcomes == [false, true])
        #expect(try storage.key(id: failing.id, organizationId: "org_a").usage.valid == 1)
        let rows = try store.database.read { db in try String.fetchAll(db, sql: "SELECT key_id FROM usage.key_usage_day") }
        #expect(rows == [failing.id])
    }

    /// A database of version 11 kept keys' counts in its own file: opened by
    /// this version, they are in the usage file and gone from the database.
    /// A copy already made (a migration that failed after it, or another
    /// process's) is not made again over counts added since.
    @Test func anEarlierVersionsCountsMoveToTheUsageFileOnce() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "old.sqlite").path
        let old = try DatabasePool(path: path, configuration: KeyDatabase.configuration())
        try KeyDatabase.migrator.migrate(old, upTo: "v11: meter counts by version")
        let store = SQLiteKeyStorage(database: old, rules: StoreFixture.rules)
        // A key as that version wrote it (this version's store writes the columns of v13).
        let key = (id: "key_old", organizationId: "org_a")
        try old.write { db in
            try db.execute(sql: """
                INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit, created_at)
                VALUES (?, ?, 'old', 'owner_integration', 'booking.read', 'live', 'abcd', 60, 0)
                """, arguments: [key.id, key.organizationId])
        }
        try store.flush(usage: [UsageIncrement(keyId: key.id, day: Date(), valid: 3, invalid: 1, refusals: ["revoked": 1],
                                               capabilities: ["booking.read": 4])],
                        meters: [], identity: "before")
        #expect(store.usageFile == nil, "an earlier version's store writes its own file")
        try old.close()

        // The copy, as if a migration had made it and then failed; then
        // counts added to the usage file since.
        let usagePath = KeyDatabase.usagePath(for: path)
        try KeyDatabase.openUsage(path: usagePath).close()
        try KeyDatabase.copyUsage(from: path, into: usagePath)
        try KeyDatabase.copyUsage(from: path, into: usagePath)
        try DatabaseQueue(path: usagePath).write { db in
            try db.execute(sql: "UPDATE key_usage_day SET valid = valid + 10")
        }

        let pool = try KeyDatabase.open(path: path)
        #expect(try pool.read { db in try db.tableExists("key_usage_day", in: "main") } == false)
        let moved = SQLiteKeyStorage(database: pool, rules: StoreFixture.rules)
        let usage = try moved.key(id: key.id, organizationId: "org_a").usage
        #expect(usage.valid == 13 && usage.invalid == 1)
        let day = try #require(try moved.usageDays(organizationId: "org_a", keyId: key.id, from: Date(), to: Date()).first)
        #expect(day.refusals == ["revoked": 1] && day.capabilities == ["booking.read": 4])
    }
}
