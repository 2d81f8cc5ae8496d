import Foundation
import GRDB
import Testing
@testable import KeyStore

@Suite("Database: migrations, schema, secrets at rest")
struct DatabaseTests {
    @Test func migrationsBuildTheSchemaFromAnEmptyFileAndReopeningChangesNothing() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let pool = try KeyDatabase.open(path: path)
        let tables = try pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
        }
        #expect(tables == [
            "api_key", "audit_entry", "billing_event", "change_event", "count_log", "key_creation", "key_rotation", "key_secret",
            "maintenance", "meter_usage", "outbox_event", "outbox_pruned", "process_setting", "setting_in_use", "subscription",
            "usage_flush", "usage_record",
        ])
        // Keys' usage counts are in the file beside it, which every connection attaches.
        let usageTables = try pool.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM usage.sqlite_master WHERE type = 'table' ORDER BY name")
        }
        #expect(usageTables == ["key_forgotten", "key_usage_count", "key_usage_day", "usage_flush", "usage_moved"])
        #expect(FileManager.default.fileExists(atPath: KeyDatabase.usagePath(for: path)))
        #expect(try pool.read { db in try KeyDatabase.migrator.hasCompletedMigrations(db) })
        #expect(try pool.read { db in try String.fetchOne(db, sql: "PRAGMA journal_mode") } == "wal")
        #expect(try pool.read { db in try Bool.fetchOne(db, sql: "PRAGMA foreign_keys") } == true)
        try pool.close()
        let again = try KeyDatabase.open(path: path)
        #expect(try again.read { db in try KeyDatabase.migrator.appliedMigrations(db) } == [
            "v1: keys, secrets, usage, audit", "v2: subscriptions, billing events, meters", "v3: change log",
            "v4: change events per key and organization", "v5: count log", "v6: flush identities",
            "v7: events outbox", "v8: usage by outcome and capability", "v9: last use in the day's row",
            "v10: one index per event", "v11: meter counts by version", "v12: usage in a file of its own",
            "v13: secrets name their key's row", "v14: live keys counted from their index",
            "v15: one change event per created key", "v16: catalogs in use", "v17: settings in use",
            "v18: settings of each process", "v19: billing events as sent", "v20: usage records as sent",
            "v21: rotated-out secrets keep their hint", "v22: key creations by idempotency key",
            "v23: key rotations by idempotency key", "v24: each key's audit trail", "v25: how far events were pruned",
            "v26: erasures marked in the change log", "v27: billing event ids by organization",
        ])
    }

    /// SQLite takes process-wide settings only before it starts
    /// (`keygate serve` makes this call first): once a database is open,
    /// the call says it took no effect, and the database works as before.
    @Test func processSettingsStayAsTheyWereOnceSQLiteRuns() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try KeyDatabase.open(path: directory.appending(path: "keygate.sqlite").path)
        #expect(SQLiteProcess.disableMemoryStatistics() == false)
        #expect(try pool.read { db in try Int.fetchOne(db, sql: "SELECT count(*) FROM api_key") } == 0)
    }

    /// A savepoint that changes 2 MiB of pages, as a write group runs a
    /// command (in a savepoint of a transaction, over pages that existed
    /// before it), commits: its journal stays in memory, whatever its
    /// size. SQLite's one-block journal (`SQLITE_CONFIG_STMTJRNL_SPILL`)
    /// fails such a savepoint with `SQLITE_FULL` once its block is 128 KiB
    /// or more, and moves it to a file when smaller (KeyDatabase).
    @Test func aSavepointOfMegabytesCommitsWithItsJournalInMemory() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let pool = try KeyDatabase.open(path: directory.appending(path: "keygate.sqlite").path)
        #expect(try pool.read { db in try Int.fetchOne(db, sql: "PRAGMA temp_store") } == 2, "journals in memory")
        try pool.write { db in
            try db.execute(sql: """
                CREATE TABLE scratch (id INTEGER PRIMARY KEY, payload BLOB);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000)
                INSERT INTO scratch SELECT i, randomblob(100) FROM n;
                """)
        }
        try pool.write { db in
            try db.execute(sql: "UPDATE scratch SET payload = x'00' WHERE id = 1")
            try db.inSavepoint {
                try db.execute(sql: "UPDATE scratch SET payload = randomblob(100)")
                return .commit
            }
        }
        #expect(try pool.read { db in
            try Int.fetchOne(db, sql: "SELECT count(*) FROM scratch WHERE length(payload) = 100")
        } == 20000)
    }

    /// Another process committing a migration while this one is migrating:
    /// this one runs it again, it fails (here on its identifier, as a table
    /// rebuild that runs cleanly twice does) and rolls back, and this
    /// process reads again and opens the file migrated once.
    @Test func aMigrationAnotherProcessCommittedMeanwhileIsNotAFailure() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "race.sqlite").path
        var other = DatabaseMigrator()
        other.registerMigration("one") { db in try db.execute(sql: "CREATE TABLE one (x)") }
        other.registerMigration("two") { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS two (x)") }
        let otherProcess = other
        var this = DatabaseMigrator()
        this.registerMigration("one") { db in
            try db.execute(sql: "CREATE TABLE one (x)")
            // Once "one" commits here, and before this process starts on
            // "two", which it has already decided to run, the other
            // process runs "two" (and is still busy before "three").
            db.afterNextTransaction { _ in
                let queue = try! DatabaseQueue(path: path)
                try! otherProcess.migrate(queue)
                try! queue.close()
            }
        }
        this.registerMigration("two") { db in try db.execute(sql: "CREATE TABLE IF NOT EXISTS two (x)") }
        this.registerMigration("three") { db in try db.execute(sql: "CREATE TABLE three (x)") }
        let pool = try DatabasePool(path: path)
        try KeyDatabase.migrate(pool, with: this, until: .distantFuture)
        #expect(try pool.read { db in try this.appliedMigrations(db) } == ["one", "two", "three"])
    }

    /// A migration that fails on its own, with nothing else migrating the
    /// file, is reported rather than tried again until the timeout.
    @Test func aMigrationThatCannotRunIsReportedAtOnce() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "blocked.sqlite").path
        // A table named like one the first migration creates.
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in try db.execute(sql: "CREATE TABLE api_key (x)") }
        try queue.close()
        let started = Date()
        #expect(throws: DatabaseError.self) { try KeyDatabase.open(path: path) }
        #expect(Date().timeIntervalSince(started) < KeyDatabase.busyTimeout)
    }

    /// A file a newer Keygate migrated (as a rollback leaves it): this
    /// build refuses it, naming what it does not know and what to run, and
    /// writes nothing to it, as the PostgreSQL store refuses a newer schema.
    @Test func aFileANewerKeygateMigratedIsRefusedUntouched() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "newer.sqlite").path
        try KeyDatabase.open(path: path).close()
        let queue = try DatabaseQueue(path: path)
        try queue.write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        func state() throws -> [String] {
            try queue.read { db in
                try String.fetchAll(db, sql: "SELECT identifier FROM grdb_migrations ORDER BY identifier")
                    + [String(try Int.fetchOne(db, sql: "PRAGMA data_version") ?? 0)]
            }
        }
        let before = try state()
        let error = #expect(throws: KeyDatabase.SchemaTooNew.self) { try KeyDatabase.open(path: path) }
        #expect(error?.unknown == ["v99: from the future"])
        #expect(error?.known == "v27: billing event ids by organization")
        let store = #expect(throws: KeyStoreError.self) { try SQLiteKeyStorage(path: path, rules: StoreFixture.rules) }
        #expect(store?.code == .storageFailure)
        #expect(store?.parameters["detail"]?.contains(
            "newer than this keygate knows (v99: from the future; it knows up to v27: billing event ids by organization); "
                + "run a keygate at least as new as the one that migrated it") == true, "\(String(describing: store))")
        #expect(try state() == before, "nothing written")

        // The usage file beside it carries its own version.
        let other = directory.appending(path: "usage-newer.sqlite").path
        try KeyDatabase.open(path: other).close()
        try DatabaseQueue(path: KeyDatabase.usagePath(for: other)).write { db in
            try db.execute(sql: "PRAGMA user_version = 2")
        }
        let usage = #expect(throws: KeyDatabase.SchemaTooNew.self) { try KeyDatabase.open(path: other) }
        #expect(usage?.unknown == ["usage file version 2"] && usage?.known == "usage file version 1")
    }

    /// A store on a new file at `path` with `keys` keys, the first one's
    /// usage and a meter's count flushed (the meter in the database, the
    /// key's count in the usage file), and verification's look-up holding the read
    /// transaction it began after the first key, before the other commits.
    private func flushedWithALookUpOpen(keys: Int, at path: String) throws -> (StoreFixture, ids: [String]) {
        let store = try StoreFixture(database: try KeyDatabase.open(path: path))
        let first = try store.storage.create(store.newKey())
        let digest = try StoreFixture.rules.format.parse(first.secret.unredacted).digest
        guard case .found = try store.storage.find(digest: digest) else { throw KeyStoreError(.notFound) }
        var ids = [first.key.id]
        for _ in 1..<keys { ids.append(try store.storage.create(store.newKey()).key.id) }
        try store.storage.flush(usage: [UsageIncrement(keyId: first.key.id, day: store.clock.now(), valid: 1, invalid: 0)],
                                meters: [MeterIncrement(organizationId: "org_a", meter: "api.requests",
                                                        periodStart: store.clock.now(), amount: 1)],
                                identity: "f1")
        return (store, ids)
    }

    /// After a flush the store copies its write-ahead log into the database
    /// file (``SQLiteKeyStorage/checkpoint()``), though verification's
    /// look-up held a read transaction open across the commits: the file
    /// alone, without its log, holds every committed key.
    @Test func aCheckpointAfterAFlushLeavesEveryCommitInTheDatabaseFile() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "k.sqlite").path
        let (store, ids) = try flushedWithALookUpOpen(keys: 21, at: path)
        store.storage.checkpoint()

        let copy = directory.appending(path: "copy.sqlite").path
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let alone = try DatabaseQueue(path: copy)
        #expect(try alone.read { try String.fetchAll($0, sql: "SELECT id FROM api_key ORDER BY seq") } == ids)
        #expect(try alone.read { try Int.fetchOne($0, sql: "SELECT used FROM meter_usage") } == 1)
        // The key's count went to the usage file, which the store reads with the database.
        #expect(try store.storage.key(id: ids[0], organizationId: "org_a").usage.valid == 1)
    }

    /// The writer's commits never copy the log themselves (SQLite's
    /// automatic checkpoint is off: one commit used to copy the whole log,
    /// with two `fdatasync(2)`, while other writes waited); the flush's own
    /// checkpoint copies it, and after it the log starts over, so the next
    /// commit writes at its beginning, though verification's look-up had a
    /// read transaction open across the flush.
    /// (Here, on one thread, SQLite would also start it over at that commit;
    /// under traffic, with readers coming and going during the copy, only
    /// the checkpoint's own restart kept the log from growing without bound:
    /// `--profile-realistic` prints the log's size.)
    @Test func aFlushCommitsWithoutCopyingTheLogAndTheLogStartsOverAfterIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "k.sqlite").path
        let (store, _) = try flushedWithALookUpOpen(keys: 51, at: path)
        // The writer's own setting (each connection has one).
        #expect(try store.database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 0)
        /// Frames in the log, as a checkpoint from another connection reports them.
        func frames() throws -> Int {
            try DatabaseQueue(path: path).writeWithoutTransaction { db in
                try Row.fetchOne(db, sql: "PRAGMA wal_checkpoint(PASSIVE)")![1] as Int
            }
        }
        let before = try frames()
        store.storage.checkpoint()
        _ = try store.storage.create(store.newKey())
        let after = try frames()
        #expect(after < before / 4, "\(before) frames before, \(after) after one more creation")
        #expect(try store.database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 0)
    }

    /// Between flushes, a commit that leaves the log past its limit has it
    /// copied into the database file from another thread, not inside the
    /// commit: the writer's automatic checkpoint stays off, and the file
    /// grows to hold what the log held.
    @Test func aLogPastItsLimitIsCopiedOutsideTheCommitThatFilledIt() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "k.sqlite").path
        let store = try StoreFixture(database: try KeyDatabase.open(path: path))
        let pages = KeyDatabase.walCheckpointPages + 500
        let fileBefore = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        try store.database.write { db in
            try db.execute(sql: """
                CREATE TABLE filler (bytes BLOB);
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(pages))
                INSERT INTO filler SELECT randomblob(3000) FROM n;
                """)
        }
        #expect(try store.database.writeWithoutTransaction { try Int.fetchOne($0, sql: "PRAGMA wal_autocheckpoint") } == 0)
        // Bounded: the copy of about 18 MB takes milliseconds.
        var fileAfter = fileBefore
        for _ in 0..<500 where fileAfter < fileBefore + pages * 3_000 {
            Thread.sleep(forTimeInterval: 0.02)
            fileAfter = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        }
        #expect(fileAfter >= fileBefore + pages * 3_000, "the file grew from \(fileBefore) to \(fileAfter) bytes")
    }

    /// A log that grew past ``KeyDatabase/logSizeLimit`` while a reader
    /// held it (a backup, a stopped process) is emptied by the next copy
    /// that starts it over, here the flush's, though every connection keeps
    /// the log file when it closes. Before, it kept its largest size on
    /// disk for good.
    @Test func aLogThatGrewWhileAReaderHeldItIsEmptiedOnceItStartsOver() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "k.sqlite").path
        let store = try StoreFixture(database: try KeyDatabase.open(path: path))
        try store.database.write { try $0.execute(sql: "CREATE TABLE filler (bytes BLOB)") }
        let rows = try Self.growLog(of: path, while: store.database)
        let grown = try Self.logSize(path)
        #expect(grown > KeyDatabase.logSizeLimit)

        store.storage.checkpoint()
        _ = try store.storage.create(store.newKey())
        let after = try Self.logSize(path)
        #expect(after < KeyDatabase.logSizeLimit / 16, "the log was \(grown) bytes, then \(after)")
        #expect(try store.database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM filler") } == rows)
    }

    /// The usage file's log the same way: grown past the limit by another
    /// writer while a reader held it, it is emptied by this process's next
    /// flush, which keeps its counts.
    @Test func theUsageFilesLogIsEmptiedByTheNextFlushOnceItGrewPastItsLimit() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "k.sqlite").path
        let store = try StoreFixture(database: try KeyDatabase.open(path: path))
        let key = try store.storage.create(store.newKey()).key
        let usagePath = KeyDatabase.usagePath(for: path)
        let other = try DatabaseQueue(path: usagePath)
        try other.write { try $0.execute(sql: "CREATE TABLE filler (bytes BLOB)") }
        let rows = try Self.growLog(of: usagePath, while: other)
        try other.close()
        let grown = try Self.logSize(usagePath)
        #expect(grown > KeyDatabase.logSizeLimit)

        try store.storage.flush(usage: [UsageIncrement(keyId: key.id, day: store.clock.now(), valid: 1, invalid: 0)],
                                meters: [], identity: "f1")
        let after = try Self.logSize(usagePath)
        #expect(after < KeyDatabase.logSizeLimit / 16, "the log was \(grown) bytes, then \(after)")
        #expect(try store.storage.key(id: key.id, organizationId: key.organizationId).usage.valid == 1)
        #expect(try DatabaseQueue(path: usagePath).read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM filler") } == rows)
    }

    /// Writes a quarter more than ``KeyDatabase/logSizeLimit`` into the
    /// table `filler` of the file at `path` through `writer`, while another
    /// connection holds a read transaction, so that no copy can start the
    /// log over meanwhile; the rows written.
    private static func growLog(of path: String, while writer: some DatabaseWriter) throws -> Int {
        let rows = KeyDatabase.logSizeLimit / 4096 * 5 / 4
        let held = try DatabaseQueue(path: path)
        try held.read { db in
            _ = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM sqlite_master")
            try writer.write { db in
                try db.execute(sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(rows))
                    INSERT INTO filler SELECT randomblob(3000) FROM n
                    """)
            }
        }
        try held.close()
        return rows
    }

    private static func logSize(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path + "-wal")[.size] as? Int)
    }

    /// The change log says which keys, organizations, secrets and
    /// subscriptions changed between two tokens, and says so when it no longer reaches back.
    @Test func theChangeLogNamesWhatChangedBetweenTwoTokens() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try StoreFixture(database: try KeyDatabase.open(path: directory.appending(path: "k.sqlite").path))
        let start = try store.storage.changeToken()
        let issued = try store.storage.create(store.newKey())
        _ = try store.storage.apply(BillingEvent(eventId: "e1", organizationId: "org_b", plan: "pro", occurredAt: store.clock.now()))
        let afterCreate = try store.storage.changeToken()
        let changes = try #require(try store.storage.changes(after: start.keys, through: afterCreate.keys))
        #expect(changes.keys == [issued.key.id])
        #expect(changes.organizations == ["org_a", "org_b"])
        #expect(changes.subscriptions == ["org_b"])
        let digest = try StoreFixture.rules.format.parse(issued.secret.unredacted).digest
        #expect(changes.digests == [digest])
        // The creation is one event (its secret's, naming key, organization
        // and digest) and the billing event one more.
        #expect(afterCreate.keys - start.keys == 2)

        _ = try store.storage.revoke(id: issued.key.id, organizationId: "org_a", actor: nil)
        let revoked = try store.storage.changeToken()
        let revocation = try #require(try store.storage.changes(after: afterCreate.keys, through: revoked.keys))
        #expect(revocation.keys == [issued.key.id] && revocation.organizations == ["org_a"] && revocation.digests.isEmpty)
        #expect(revocation.subscriptions.isEmpty)
        #expect(try store.storage.changes(after: revoked.keys, through: revoked.keys) == ChangeSet())

        // 65,536 newer events later, the log no longer reaches the start.
        try store.database.write { db in
            for _ in 0..<65_536 { try db.execute(sql: "INSERT INTO change_event (organization_id) VALUES ('org_x')") }
        }
        let far = try store.storage.changeToken()
        #expect(try store.storage.changes(after: start.keys, through: far.keys) == nil)
        #expect(try store.storage.changes(after: far.keys - 10, through: far.keys)?.organizations == ["org_x"])
    }

    /// The change token tells a flush of counters from a change of keys,
    /// including changes made through another connection.
    @Test func theChangeTokenMovesItsKeysPartOnlyForKeysAndSubscriptions() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let store = try StoreFixture(database: try KeyDatabase.open(path: path))
        let other = SQLiteKeyStorage(database: try KeyDatabase.open(path: path), rules: StoreFixture.rules, clock: store.clock)
        let start = try store.storage.changeToken()
        let key = try other.create(store.newKey()).key
        let created = try store.storage.changeToken()
        #expect(created.keys != start.keys && created.data != start.data)

        // Keys' usage counts go to the usage file: the database's token stays.
        try other.recordUsage([UsageIncrement(keyId: key.id, day: store.clock.now(), valid: 1, invalid: 0, lastUsedAt: store.clock.now())])
        let flushed = try store.storage.changeToken()
        #expect(flushed == created)
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage.valid == 1)

        // Counts added to a meter move the count part, and only that.
        try other.flush(usage: [], meters: [MeterIncrement(organizationId: "org_a", meter: "api.requests",
                                                           periodStart: store.clock.now(), amount: 3)], identity: "flush_1")
        let counted = try store.storage.changeToken()
        #expect(counted.keys == flushed.keys && counted.data != flushed.data && counted.counts != flushed.counts)

        _ = try other.revoke(id: key.id, organizationId: "org_a", actor: nil)
        #expect(try store.storage.changeToken().keys != flushed.keys)
        let revoked = try store.storage.changeToken()
        _ = try other.apply(BillingEvent(eventId: "e1", organizationId: "org_a", plan: "pro", occurredAt: store.clock.now()))
        #expect(try store.storage.changeToken().keys != revoked.keys)
    }

    /// The watcher skips its pragma while the WAL-index header is unchanged;
    /// every commit, including those that restart or truncate the WAL after
    /// a checkpoint, must still show in the very next token.
    @Test func everyCommitShowsInTheNextTokenAcrossCheckpointsAndWALRestarts() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let store = try StoreFixture(database: try KeyDatabase.open(path: path))
        let watcher = try #require(DataVersionWatcher(path: path))
        #expect(watcher.watchesWALIndex)
        let other = try KeyDatabase.open(path: path)
        let otherStorage = SQLiteKeyStorage(database: other, rules: StoreFixture.rules, clock: store.clock)
        let key = try otherStorage.create(store.newKey()).key
        /// A meter's count: a commit of the database that changes no key.
        func meter(_ amount: Int) -> MeterIncrement {
            MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: store.clock.now(), amount: amount)
        }

        var previous = try #require(watcher.versions())
        for round in 0..<120 {
            switch round % 4 {
            case 0: _ = try otherStorage.update(id: key.id, organizationId: "org_a", changes: KeyChanges(name: "name \(round)"), actor: nil)
            case 1: try otherStorage.flush(usage: [], meters: [meter(1)], identity: "round \(round)")
            case 2:
                try other.writeWithoutTransaction { try $0.execute(sql: "PRAGMA main.wal_checkpoint(TRUNCATE)") }
                _ = try otherStorage.update(id: key.id, organizationId: "org_a", changes: KeyChanges(name: "after \(round)"), actor: nil)
            default:
                try other.writeWithoutTransaction { try $0.execute(sql: "PRAGMA main.wal_checkpoint(RESTART)") }
                try otherStorage.flush(usage: [], meters: [meter(2)], identity: "round \(round)")
            }
            let next = try #require(watcher.versions())
            #expect(next.data != previous.data, "round \(round)")
            #expect((next.keys != previous.keys) == (round % 2 == 0), "round \(round)")
            // Nothing committed since: the same answer, from the header alone.
            let again = try #require(watcher.versions())
            #expect(again == next, "round \(round)")
            previous = next
        }
    }

    @Test func theSchemaRefusesWhatTheCodeWouldNeverWrite() throws {
        let store = try StoreFixture()
        let key = try store.create().key
        let violations = [
            "UPDATE api_key SET rate_limit = 0",
            "UPDATE api_key SET name = ''",
            "UPDATE api_key SET capabilities = ''",
            "UPDATE api_key SET expires_at = created_at",
            "INSERT INTO key_secret (digest, key_id) VALUES (zeroblob(32), '\(key.id)')",
            "INSERT INTO key_secret (digest, key_id, expires_at) VALUES (zeroblob(31), '\(key.id)', 1)",
            "INSERT INTO key_secret (digest, key_id, expires_at) VALUES (zeroblob(32), 'key_nobody', 1)",
            "INSERT INTO key_usage_day (key_id, day) VALUES ('\(key.id)', 'today')",
            "INSERT INTO audit_entry (organization_id, at, actor, action, details) VALUES ('o', 0, 'a', 'x', 'not json')",
            "INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit, created_at) SELECT id, organization_id, name, kind, capabilities, environment, hint, rate_limit, created_at FROM api_key",
        ]
        for sql in violations {
            #expect(throws: DatabaseError.self, "\(sql)") { try store.database.write { try $0.execute(sql: sql) } }
        }
    }

    /// Each creation counts its organization's live keys against the plan's
    /// maximum, and an organization entering verification's cache reads
    /// their next expiry: both from the index of live keys alone
    /// (migration v14), never a table row per key, which made a creation's
    /// cost grow with the keys its organization holds.
    @Test func liveKeysAreCountedFromTheirIndexAlone() throws {
        let store = try StoreFixture()
        for aggregate in ["COUNT(*)", "MIN(expires_at)"] {
            let plan = try store.database.read { db in
                try Row.fetchAll(db, sql: "EXPLAIN QUERY PLAN SELECT \(aggregate) FROM api_key WHERE \(SQLiteKeyStorage.liveKeysOfKinds)",
                                 arguments: SQLiteKeyStorage.liveKeysArguments("org_1", kinds: ["owner_integration"], now: Date()))
                    .map { $0["detail"] as String }
            }
            #expect(plan == ["SEARCH api_key USING COVERING INDEX api_key_live (organization_id=?)"], "\(aggregate)")
        }
    }

    /// The raw key exists only in the answer to create or rotate: not in the
    /// database file, not in its write-ahead log, not in the audit log.
    @Test func noRawKeyIsWrittenToTheDatabaseFileOrItsLog() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let pool = try KeyDatabase.open(path: path)
        let store = try StoreFixture(database: pool)
        var secrets: [RawKey] = []
        for index in 0..<40 {
            let issued = try store.create(store.newKey(name: "key \(index)", environment: index.isMultiple(of: 2) ? "live" : "test"))
            secrets.append(issued.secret)
            if index.isMultiple(of: 4) {
                let grace = index.isMultiple(of: 8) ? 0 : 3600
                secrets.append(try store.storage.rotate(id: issued.key.id, organizationId: "org_a", gracePeriodSeconds: grace, actor: nil).secret)
            }
        }
        // Everything written must still be there to scan: part in the WAL,
        // part checkpointed into the main file.
        let walBytes = try Data(contentsOf: URL(filePath: path + "-wal"))
        #expect(!walBytes.isEmpty)
        _ = try pool.writeWithoutTransaction { try $0.checkpoint(.passive) }
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        var contents = [walBytes]
        for file in files {
            contents.append(try Data(contentsOf: directory.appending(path: file)))
        }
        for secret in secrets {
            let random = secret.unredacted.split(separator: "_").last!.prefix(KeyFormat.randomLength)
            for bytes in contents {
                #expect(bytes.range(of: Data(random.utf8)) == nil, "a secret was found on disk")
                #expect(bytes.range(of: Data(random.prefix(16).utf8)) == nil, "part of a secret was found on disk")
            }
        }
    }

    /// A flush writes its rows through SQLite's own API: every value lands
    /// where the store reads it (nulls as nulls, the breakdown, the meter's
    /// running total), and a statement SQLite refuses fails the flush as a
    /// storage failure, with nothing of its batch kept.
    @Test func aFlushWritesEveryValueAndARefusedStatementKeepsNothing() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "flush.sqlite").path
        let store = try StoreFixture(database: try KeyDatabase.open(path: path))
        let key = try store.storage.create(store.newKey()).key
        let now = store.clock.now()
        let meter = MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: now, amount: 2)
        try store.storage.flush(
            usage: [UsageIncrement(keyId: key.id, day: now, valid: 3, invalid: 1, lastUsedAt: now, lastOrigin: nil,
                                   lastIP: "192.0.2.7", refusals: ["rate_limited": 1], capabilities: ["booking.read": 4])],
            meters: [meter], identity: "first")
        try store.storage.flush(usage: [UsageIncrement(keyId: key.id, day: now, valid: 1, invalid: 0)], meters: [meter],
                                identity: "second")

        let stored = try store.storage.key(id: key.id, organizationId: "org_a")
        #expect(stored.usage.valid == 4)
        #expect(stored.usage.invalid == 1)
        #expect(stored.lastUsedAt == StorageCoding.truncated(now))
        #expect(stored.lastOrigin == nil)
        #expect(stored.lastIP == "192.0.2.7")
        let day = try #require(try store.storage.usageDays(organizationId: "org_a", keyId: key.id, from: now, to: now).first)
        #expect(day.refusals == ["rate_limited": 1])
        #expect(day.capabilities == ["booking.read": 4])
        #expect(try store.storage.readings(organizationId: "org_a", periods: [("api.requests", now)]).first?.used == 4)

        // The breakdown's table gone from the usage file: its statement
        // cannot be prepared, and the day's counts roll back with it.
        let usage = try DatabaseQueue(path: KeyDatabase.usagePath(for: path))
        try usage.write { db in try db.execute(sql: "DROP TABLE key_usage_count") }
        let refused = UsageIncrement(keyId: key.id, day: now, valid: 5, invalid: 0, capabilities: ["booking.read": 5])
        let error = #expect(throws: KeyStoreError.self) {
            try store.storage.flush(usage: [refused], meters: [], identity: "third")
        }
        #expect(error?.code == .storageFailure)
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage.valid == 4)
    }
}
