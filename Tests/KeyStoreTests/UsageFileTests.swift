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

    /// The rows the usage file holds, each table's key ids.
    private func usageRows(_ store: StoreFixture) throws -> [String] {
        try store.database.read { db in
            try String.fetchAll(db, sql: """
                SELECT key_id FROM usage.key_usage_day UNION ALL SELECT key_id FROM usage.key_usage_count ORDER BY 1
                """)
        }
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
        #expect(try usageRows(store) == [kept.id, kept.id])
    }

    /// Another process counted verifications of keys before it learned
    /// they were deleted (one on its own, the others with their erased
    /// organization) and flushes them after the deletions committed: none
    /// of their counts, nor the last IP address, lands in the usage file;
    /// a kept key's in the same batch does, and a batch of that process
    /// sent again before it knew adds nothing either.
    @Test func countsTakenBeforeTheirKeysDeletionAreNotWrittenAfterIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, path) = try fileStore(directory)
        let other = SQLiteKeyStorage(database: try KeyDatabase.open(path: path), rules: StoreFixture.rules, clock: store.clock)
        let kept = try store.storage.create(store.newKey()).key
        let deleted = try store.storage.create(store.newKey()).key
        let erased = try store.storage.create(store.newKey(organization: "org_b")).key
        func counted(_ key: KeyRecord) -> UsageIncrement {
            UsageIncrement(keyId: key.id, day: store.clock.now(), valid: 1, invalid: 0, lastUsedAt: store.clock.now(),
                           lastIP: "203.0.113.9", capabilities: ["booking.read": 1])
        }

        try store.storage.delete(id: deleted.id, organizationId: "org_a", actor: nil)
        _ = try store.storage.eraseOrganization("org_b", actor: nil)
        try other.flush(usage: [kept, deleted, erased].map(counted), meters: [], identity: "taken before")
        try other.flush(usage: [deleted, erased].map(counted), meters: [], identity: "taken before, once more")

        #expect(try usageRows(store) == [kept.id, kept.id])
        let lastIPs = try store.database.read { db in
            try String.fetchAll(db, sql: "SELECT last_ip FROM usage.key_usage_day WHERE last_ip IS NOT NULL")
        }
        #expect(lastIPs == ["203.0.113.9"])
        #expect(try store.storage.key(id: kept.id, organizationId: "org_a").usage.valid == 1)
    }

    /// A usage file made before deleted keys were named there gains the
    /// table when the database opens, its counts kept, and keeps its
    /// version, so that the build before still opens it (a rollback);
    /// opened again, nothing more is done.
    @Test func aUsageFileFromBeforeDeletedKeysWereNamedGainsTheTableAndKeepsItsVersion() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        try DatabaseQueue(path: KeyDatabase.usagePath(for: path)).write { db in
            try db.execute(sql: KeyDatabase.usageSchema)
            try db.execute(sql: "INSERT INTO key_usage_day (key_id, day, valid) VALUES ('key_kept', '2026-12-01', 7)")
            try db.execute(sql: "PRAGMA user_version = 1")
        }
        for _ in 0..<2 {
            let pool = try KeyDatabase.open(path: path)
            let (version, tables, valid) = try pool.read { db in
                (try Int.fetchOne(db, sql: "PRAGMA usage.user_version"),
                 try String.fetchAll(db, sql: "SELECT name FROM usage.sqlite_master WHERE type = 'table' ORDER BY name"),
                 try Int.fetchOne(db, sql: "SELECT valid FROM usage.key_usage_day WHERE key_id = 'key_kept'"))
            }
            #expect(version == 1 && valid == 7)
            #expect(tables == ["key_forgotten", "key_usage_count", "key_usage_day", "usage_flush", "usage_moved"])
            try pool.close()
        }
    }

    /// A process that may only read a usage file made before deleted keys
    /// were named there opens the database all the same, and reads keys'
    /// counts: it writes none there, and only writes need the table.
    @Test(.enabled(if: UnwritableFile.canMake, "this user can make no file unwritable to itself"))
    func aProcessThatMayOnlyReadAUsageFileFromBeforeTheNamesOpensIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        // Written, and every connection to the files closed: SQLite would
        // lend a new connection this process's open descriptor of the file.
        let keyId = try {
            let store = try StoreFixture(database: try KeyDatabase.open(path: path))
            let key = try store.storage.create(store.newKey()).key
            try store.storage.flush(usage: [count(store, key: key.id)], meters: [], identity: "before")
            return key.id
        }()
        let usagePath = KeyDatabase.usagePath(for: path)
        try {
            // Its log kept, as Keygate's connections keep it: a process
            // that may only read the file opens it in WAL mode only so.
            var configuration = Configuration()
            configuration.prepareDatabase { db in KeyDatabase.keepLog(db.sqliteConnection) }
            try DatabaseQueue(path: usagePath, configuration: configuration).write { db in
                try db.execute(sql: "DROP TABLE key_forgotten")
            }
        }()
        let locked = try UnwritableFile(usagePath)
        defer { locked.release() }

        try {
            let database = try KeyDatabase.open(path: path)
            #expect(try !database.read { db in try db.tableExists("key_forgotten", in: "usage") })
            let reader = SQLiteKeyStorage(database: database, rules: StoreFixture.rules)
            #expect(try reader.key(id: keyId, organizationId: "org_a").usage.valid == 1)
        }()
        locked.release()
        let writer = try KeyDatabase.open(path: path)
        #expect(try writer.read { db in try db.tableExists("key_forgotten", in: "usage") })
    }

    /// A deleted key is named in the usage file for a day: the next
    /// deletion after that forgets the name.
    @Test func aDeletedKeyIsNamedForADay() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try fileStore(directory)
        let first = try store.storage.create(store.newKey()).key
        let second = try store.storage.create(store.newKey()).key
        let third = try store.storage.create(store.newKey()).key
        func named() throws -> [String] {
            try store.database.read { db in try String.fetchAll(db, sql: "SELECT key_id FROM usage.key_forgotten ORDER BY 1") }
        }

        try store.storage.delete(id: first.id, organizationId: "org_a", actor: nil)
        store.clock.advance(by: 86_400)
        try store.storage.delete(id: second.id, organizationId: "org_a", actor: nil)
        #expect(try named() == [first.id, second.id].sorted(), "a day to the millisecond: still named")
        store.clock.advance(by: 0.002)
        try store.storage.delete(id: third.id, organizationId: "org_a", actor: nil)
        #expect(try named() == [second.id, third.id].sorted())
    }

    /// Rows of keys the database no longer has (left by a process stopped
    /// between a deletion's commit and its write to the usage file) go
    /// with the step of a folding pass that goes through them, folded or
    /// not; a kept key's stay, and so do those of a key no step reached.
    @Test func aFoldingPassDeletesTheRowsOfKeysThatNoLongerExist() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, _) = try fileStore(directory)
        let kept = try store.storage.create(store.newKey()).key
        let gone = ["gone_a", "gone_b"]
        try store.storage.flush(usage: (gone + [kept.id]).map { count(store, key: $0) }, meters: [], identity: "left")
        let longAgo = store.clock.now().addingTimeInterval(-400 * 86_400)

        let first = try store.storage.foldUsage(before: longAgo, due: longAgo, after: nil, keys: 1)
        #expect(first == UsageFold(folded: 0, next: "gone_a"))
        #expect(try usageRows(store) == ["gone_b", "gone_b", kept.id, kept.id])
        let rest = try store.storage.foldUsage(before: longAgo, due: longAgo, after: first.next, keys: 10)
        #expect(rest == UsageFold(folded: 0, next: nil))
        #expect(try usageRows(store) == [kept.id, kept.id])
        #expect(try store.storage.key(id: kept.id, organizationId: "org_a").usage.valid == 1)
    }

    /// A key deleted between the backup's copies of the database and of
    /// its usage file is named in the latter; restored, the key counts.
    @Test func aKeyRestoredFromABackupCountsAgain() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (store, path) = try fileStore(directory)
        let key = try store.storage.create(store.newKey()).key
        let backup = directory.appending(path: "backup.sqlite").path
        _ = try SQLiteBackup.write(database: path, to: backup)
        // As a deletion committed between the two copies leaves it.
        try DatabaseQueue(path: KeyDatabase.usagePath(for: backup)).write { db in
            try db.execute(sql: "INSERT INTO key_forgotten (key_id, forgotten_at) VALUES (?, 0)", arguments: [key.id])
        }

        let restoredPath = directory.appending(path: "restored.sqlite").path
        _ = try SQLiteBackup.restore(from: backup, into: restoredPath)
        let restored = SQLiteKeyStorage(database: try KeyDatabase.open(path: restoredPath), rules: StoreFixture.rules,
                                        clock: store.clock)
        try restored.flush(usage: [count(store, key: key.id)], meters: [], identity: "after the restore")
        #expect(try restored.key(id: key.id, organizationId: "org_a").usage.valid == 1)
    }

    /// A deletion whose process could not write the usage file then
    /// deletes the key's counts, and names it, at that process's next
    /// flush once it can, with counts or without: another process's counts
    /// of the key written meanwhile go, and later ones are not written.
    @Test(.enabled(if: UnwritableFile.canMake, "this user can make no file unwritable to itself"))
    func aDeletionThatCouldNotWriteTheUsageFileDeletesTheCountsAtTheNextFlush() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let (first, path) = try fileStore(directory)
        let key = try first.storage.create(first.newKey()).key
        try first.storage.flush(usage: [count(first, key: key.id)], meters: [], identity: "before")
        let locked = try UnwritableFile(KeyDatabase.usagePath(for: path))
        defer { locked.release() }
        let deleting = SQLiteKeyStorage(database: try KeyDatabase.open(path: path), rules: StoreFixture.rules, clock: first.clock)
        try deleting.delete(id: key.id, organizationId: "org_a", actor: nil)
        #expect(throws: KeyStoreError.self) { try deleting.flush(usage: [], meters: [], identity: "still unwritable") }

        locked.release()
        try first.storage.flush(usage: [count(first, key: key.id)], meters: [], identity: "meanwhile")
        #expect(try usageRows(first) == [key.id, key.id])
        try deleting.flush(usage: [], meters: [], identity: "nothing counted")
        #expect(try usageRows(first) == [])
        try first.storage.flush(usage: [count(first, key: key.id)], meters: [], identity: "after")
        #expect(try usageRows(first) == [])
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
