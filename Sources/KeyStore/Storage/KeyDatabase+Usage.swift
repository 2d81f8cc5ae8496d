import Foundation
import GRDB
import GRDBSQLite

/// Keys' usage counts live in a file of their own beside the database
/// (`<path>-usage`), with its own writer, log and checkpoints.
///
/// The flush writes a row per key verified in the last second, tens of
/// thousands of rows a second under real traffic. In the database's own
/// file those writes held its single writer, so a `keys.update` waited
/// behind them, and every one of their commits moved the log that
/// verification reads keys through, which then dropped its page cache and
/// read index pages again. In a file of their own they hold neither
/// (docs/STORAGE.md, docs/PERFORMANCE.md). Meters stay in the database:
/// they are few, and the threshold events they raise go in the same
/// transaction.
///
/// Every connection of the database attaches the usage file as `usage`,
/// read-only, so reads (a key's usage totals, an organization's usage by
/// day) join it as before. Nothing ties the two files' commits together:
/// a flush writes each part in a transaction of its own, each recorded
/// under the batch's identity, so a batch sent again adds each part once.
extension KeyDatabase {
    /// The usage file of the database at `path`.
    public static func usagePath(for path: String) -> String {
        path + "-usage"
    }

    /// The usage file's schema version, in its `user_version`. Not GRDB's
    /// migration table: every connection of the database attaches this
    /// file, and a second `grdb_migrations` there would answer for the
    /// database's own while the database has none yet. It moves only for
    /// a change a build that knows the version before cannot live with
    /// (such a build refuses the file); tables added beside the others
    /// are ``usageAdditions``.
    static let usageSchemaVersion = 1

    /// The usage file's schema at version 1. As the database's own tables
    /// were at v11, without the foreign key to a table in another file: a
    /// deleted key's rows are deleted after its deletion commits
    /// (``UsageFile``), and every read of them goes through the key.
    static let usageSchema = """
        CREATE TABLE key_usage_day (
            key_id TEXT NOT NULL,
            day TEXT NOT NULL CHECK (day GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]'),
            valid INTEGER NOT NULL DEFAULT 0 CHECK (valid >= 0),
            invalid INTEGER NOT NULL DEFAULT 0 CHECK (invalid >= 0),
            last_used_at INTEGER,
            last_origin TEXT,
            last_ip TEXT,
            PRIMARY KEY (key_id, day)
        ) WITHOUT ROWID;
        CREATE TABLE key_usage_count (
            key_id TEXT NOT NULL,
            day TEXT NOT NULL,
            dimension TEXT NOT NULL CHECK (dimension IN ('outcome', 'capability')),
            name TEXT NOT NULL,
            count INTEGER NOT NULL CHECK (count >= 0),
            PRIMARY KEY (key_id, day, dimension, name)
        ) WITHOUT ROWID;
        -- The flush batches whose keys' counts this file holds.
        CREATE TABLE usage_flush (
            flush_id TEXT PRIMARY KEY,
            flushed_at INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX usage_flush_by_time ON usage_flush (flushed_at);
        -- A row once the counts a database of an earlier version kept
        -- in its own file were copied here (migration v12).
        CREATE TABLE usage_moved (what TEXT PRIMARY KEY) WITHOUT ROWID;
        """

    /// Tables added to the usage file since version 1, each created where
    /// it is missing: a build that knows only version 1 leaves them alone
    /// and still opens the file, so a deployment can roll back past them.
    static let usageAdditions: KeyValuePairs<String, String> = [
        // Keys whose counts were deleted with them, for a day: another
        // process's flush of counts it took before it learned of the
        // deletion wrote them back afterwards, under the id of a key that
        // no longer exists (an erased organization's last IP addresses
        // too). A flush writes no counts of a key named here.
        "key_forgotten": """
            CREATE TABLE key_forgotten (
                key_id TEXT PRIMARY KEY,
                forgotten_at INTEGER NOT NULL
            ) WITHOUT ROWID;
            CREATE INDEX key_forgotten_by_time ON key_forgotten (forgotten_at);
            """,
    ]

    /// Opens (creating it if need be) the usage file at `path`: one
    /// connection, the flush's writer.
    static func openUsage(path: String) throws -> DatabaseQueue {
        var configuration = Configuration()
        configuration.busyMode = .timeout(busyTimeout)
        configuration.journalMode = .wal
        configuration.label = "keygate usage"
        // As the database's own connections (``configuration(usage:)``).
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            keepLog(db.sqliteConnection)
        }
        let queue = try DatabaseQueue(path: path, configuration: configuration)
        // Every open reads the version and the tables; only a file without
        // the schema, or without a table added since, takes the write lock,
        // which a flush of another process may hold.
        let (version, tables) = try queue.read { db in
            (try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0,
             Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")))
        }
        // A newer Keygate's file is refused, as its database is.
        guard version <= usageSchemaVersion else {
            try queue.close()
            throw SchemaTooNew(unknown: ["usage file version \(version)"], known: "usage file version \(usageSchemaVersion)")
        }
        guard version < usageSchemaVersion || usageAdditions.contains(where: { !tables.contains($0.key) }) else { return queue }
        // An immediate transaction: processes starting together on a new
        // file create the schema one after the other, and only the first
        // finds it missing; a table added since, the same way.
        do {
            try queue.write { db in
                if try Int.fetchOne(db, sql: "PRAGMA user_version") ?? 0 < usageSchemaVersion {
                    try db.execute(sql: usageSchema)
                    try db.execute(sql: "PRAGMA user_version = \(usageSchemaVersion)")
                }
                for (table, schema) in usageAdditions where try !db.tableExists(table) {
                    try db.execute(sql: schema)
                }
            }
        } catch let error as DatabaseError where version == usageSchemaVersion && error.deniesWrites {
            // A process that may only read the file serves all the same: it
            // writes no counts there, and only writes need the added tables.
        }
        return queue
    }

    /// Whether this SQLite reads URI filenames, which attaching the usage
    /// file read-only needs (Debian's and Apple's builds do). Attached
    /// read-write, the writer's `BEGIN IMMEDIATE` would take the usage
    /// file's write lock with the database's on every key change, and the
    /// two would wait for each other again. Where SQLite cannot, keys'
    /// counts stay in the database, as before migration v12.
    static let attachesUsage = sqlite3_compileoption_used("USE_URI") == 1

    /// How a connection of the database names the usage file to attach it
    /// read-only.
    static func attachment(of usage: String) -> String {
        // In a URI's path, `?` and `#` would end it and `%` starts an escape.
        var escaped = ""
        for character in usage.unicodeScalars {
            switch character {
            case "%": escaped += "%25"
            case "?": escaped += "%3F"
            case "#": escaped += "%23"
            default: escaped.unicodeScalars.append(character)
            }
        }
        // `file:` followed by `//` would read a host name.
        if escaped.hasPrefix("//") { escaped = "/." + escaped }
        return "file:\(escaped)?mode=ro"
    }

    /// Copies the usage counts a database of an earlier version kept in its
    /// own file (`main`) into its usage file, once: migration v12 then drops
    /// them from the database.
    ///
    /// From a connection of the usage file's own, since the migration's
    /// connection attaches it read-only. The copy and the row that says it
    /// was made commit together, so a migration that fails after it (or
    /// another process migrating at the same time) copies nothing twice.
    /// The transaction's first statement writes the usage file, so it waits
    /// for another writer of that file as every write does; the database
    /// itself is only read, and shows what it held before the migration.
    static func copyUsage(from main: String, into usage: String) throws {
        guard let connection = openConnection(path: usage, flags: SQLITE_OPEN_READWRITE) else {
            throw DatabaseError(resultCode: .SQLITE_CANTOPEN, message: "cannot open \(usage)")
        }
        keepLog(connection)
        defer { sqlite3_close_v2(connection) }
        func failure(_ code: Int32) -> DatabaseError {
            DatabaseError(resultCode: ResultCode(rawValue: code), message: String(cString: sqlite3_errmsg(connection)))
        }
        // The one statement with an argument; the copy's are fixed text.
        var attach: OpaquePointer?
        defer { sqlite3_finalize(attach) }
        var code = sqlite3_prepare_v2(connection, "ATTACH DATABASE ? AS legacy", -1, &attach, nil)
        if code == SQLITE_OK {
            sqlite3_bind_text(attach, 1, main, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            code = sqlite3_step(attach)
        }
        guard code == SQLITE_OK || code == SQLITE_DONE else { throw failure(code) }
        // The transaction's first statement writes: it waits for another
        // writer of the usage file through the busy handler.
        guard sqlite3_exec(connection, """
                BEGIN;
                INSERT OR REPLACE INTO main.key_usage_day (key_id, day, valid, invalid, last_used_at, last_origin, last_ip)
                    SELECT key_id, day, valid, invalid, last_used_at, last_origin, last_ip FROM legacy.key_usage_day
                    WHERE NOT EXISTS (SELECT 1 FROM main.usage_moved);
                INSERT OR REPLACE INTO main.key_usage_count (key_id, day, dimension, name, count)
                    SELECT key_id, day, dimension, name, count FROM legacy.key_usage_count
                    WHERE NOT EXISTS (SELECT 1 FROM main.usage_moved);
                INSERT OR IGNORE INTO main.usage_moved (what) VALUES ('key usage');
                COMMIT;
                """, nil, nil, nil) == SQLITE_OK
        else {
            let error = failure(sqlite3_errcode(connection))
            sqlite3_exec(connection, "ROLLBACK", nil, nil, nil)
            throw error
        }
    }
}
