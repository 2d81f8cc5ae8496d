import Foundation
public import GRDB
import GRDBSQLite

/// Opens Keygate's SQLite database and brings its schema up to date.
///
/// A file database is a `DatabasePool` in WAL mode, so readers never wait for
/// the writer and several processes can share the file; a busy timeout lets a
/// writer wait for another process's transaction instead of failing.
public enum KeyDatabase {
    /// How long a write waits for another connection's lock before it fails.
    public static let busyTimeout: Double = 5
    /// How many pages the write-ahead log holds before a commit checkpoints it.
    static let walCheckpointPages = 4_000
    /// The size, in bytes, past which a write-ahead log file is emptied
    /// when it starts over, rather than written again from its start
    /// (``logIsPastLimit(_:)``). Four times the 16 MiB at which copies
    /// start, above the 34 MiB that twenty minutes of realistic traffic
    /// reached (docs/PERFORMANCE.md): ordinary traffic never pays for an
    /// emptied file's regrowth.
    static let logSizeLimit = 64 << 20

    /// Whether the log file of the database at `path` is larger than
    /// ``logSizeLimit``. A log that starts over is written again from its
    /// start and never shrinks, and every connection keeps the file when it
    /// closes (``keepLog(_:)``): without this, a log that grew while a
    /// reader held it (a long backup, a process stopped in a read) would
    /// keep that size on disk for good. Not SQLite's `journal_size_limit`:
    /// with a kept log, it empties the file when the last connection closes,
    /// and a process that may only read the database can then not open it,
    /// nor one on a full disk write to it.
    static func logIsPastLimit(_ path: String) -> Bool {
        var info = stat()
        return stat(path + "-wal", &info) == 0 && Int(info.st_size) > logSizeLimit
    }

    /// One checkpoint of `connection`'s database in `mode` that never
    /// waits on a busy handler; the log's length and how much of it is now
    /// in the database file, in pages, or `nil` if it could not run or
    /// complete.
    static func checkpointWithoutWaiting(_ connection: OpaquePointer, mode: Int32) -> (log: Int, copied: Int)? {
        sqlite3_busy_timeout(connection, 0)
        defer { sqlite3_busy_timeout(connection, Int32(busyTimeout * 1000)) }
        var log: Int32 = 0
        var copied: Int32 = 0
        guard sqlite3_wal_checkpoint_v2(connection, nil, mode, &log, &copied) == SQLITE_OK else { return nil }
        return (Int(log), Int(copied))
    }

    /// Whether `path` names a file other connections and processes may
    /// open, rather than SQLite's in-memory database.
    static func isFile(_ path: String) -> Bool {
        !(path.isEmpty || path == ":memory:" || path.hasPrefix("file::memory"))
    }

    /// Why `path` can name no database file, if it cannot: it is empty,
    /// SQLite's in-memory name, or names something that is not a regular
    /// file (a folder; a device, a pipe or a socket). SQLite refused these
    /// only once files had been created beside them (as root, `serve
    /// --database /dev/null` left `/dev/null-usage` and its log in /dev),
    /// or in words that blamed the disk ("disk I/O error"). A path with
    /// nothing there is no refusal: the file is created. The words name no
    /// path; whoever shows them names it.
    package static func refusal(of path: String) -> String? {
        guard !path.isEmpty else { return "the path is empty; name a file" }
        guard isFile(path) else { return "an in-memory database cannot be shared between connections; give a file" }
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return nil
        case S_IFDIR: return "it is a folder; name a file (keygate.sqlite in that folder, say)"
        default: return "it is not a regular file (it is a device, a pipe or a socket); name a file"
        }
    }

    /// The folder a file at `path` is in: the text before its last slash
    /// (`/` for a file at the root, `.` for a bare name). Not Foundation's
    /// `deletingLastPathComponent`, which trapped on a one-character
    /// relative path ("k") and stopped `keygate serve --database k` just
    /// after it began serving.
    package static func folder(of path: String) -> String {
        path.lastIndex(of: "/").map { $0 == path.startIndex ? "/" : String(path[..<$0]) } ?? "."
    }

    /// The folder of `path` (``folder(of:)``) when nothing is there: SQLite
    /// says only "unable to open database file" of a file it cannot create
    /// in a folder that does not exist.
    package static func missingFolder(of path: String) -> String? {
        let folder = folder(of: path)
        return FileManager.default.fileExists(atPath: folder) ? nil : folder
    }

    /// The folder of `path` and the system's words ("Permission denied",
    /// "Read-only file system") when this user may not create files in
    /// it: SQLite says only "unable to open database file" of that too.
    package static func unwritableFolder(of path: String) -> (folder: String, reason: String)? {
        let folder = folder(of: path)
        guard access(folder, W_OK | X_OK) != 0 else { return nil }
        return (folder, String(cString: strerror(errno)))
    }

    /// The first of the database's files at `path` (the file, its usage
    /// file and their logs) that is there but this user may not read, and
    /// the system's words: SQLite says only "unable to open database file".
    package static func unreadableFile(of path: String) -> (file: String, reason: String)? {
        let files = [path, usagePath(for: path)].flatMap { [$0, $0 + "-wal", $0 + "-shm"] }
        for file in files where FileManager.default.fileExists(atPath: file) && access(file, R_OK) != 0 {
            return (file, String(cString: strerror(errno)))
        }
        return nil
    }

    /// Opens (creating if needed) and migrates the database file at `path`,
    /// and the file of keys' usage counts beside it (``usagePath(for:)``).
    ///
    /// Several processes may start together on a new file. The loser of the
    /// switch to WAL gets SQLITE_BUSY at once (that pragma does not wait on
    /// the busy handler), so this process opens the files again, until the
    /// busy timeout has passed.
    ///
    /// An in-memory name (`:memory:`, `file::memory:…`) is refused before
    /// anything is written: a pool needs a file its connections share
    /// (``inMemory()`` is the one-connection database for tests). So are
    /// an empty path, a folder and a device (``refusal(of:)``).
    public static func open(path: String) throws -> DatabasePool {
        try openMigrating(path: path).pool
    }

    /// ``open(path:)``, and the migrations the file had when this process
    /// looked, before it migrated (none for a new file).
    static func openMigrating(path: String) throws -> (pool: DatabasePool, applied: Set<String>) {
        if let refusal = refusal(of: path) { throw DatabaseError(resultCode: .SQLITE_CANTOPEN, message: refusal) }
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                // The usage file first: every connection of the pool attaches it.
                let usage = attachesUsage ? usagePath(for: path) : nil
                if let usage { try openUsage(path: usage).close() }
                let pool = try DatabasePool(path: path, configuration: configuration(usage: usage))
                let applied = try migrate(pool, with: migrator, until: deadline)
                do {
                    try linkSecrets(pool)
                } catch let error as DatabaseError where error.deniesWrites {
                    // A process that may only read serves all the same: its
                    // look-ups find unlinked secrets through their key's id.
                }
                return (pool, applied)
            } catch let error as DatabaseError where Date() < deadline
                && [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode)
            {
                Thread.sleep(forTimeInterval: .random(in: 0.005...0.02))
            }
        }
    }

    /// Brings the schema up to date while other processes may be doing the
    /// same.
    ///
    /// GRDB decides which migrations to run before it takes the write lock,
    /// then runs each in a transaction of its own with its identifier. So a
    /// process can run a migration another committed meanwhile: it fails on
    /// the schema ("table already exists") or on the identifier (a migration
    /// that rebuilds a table runs again cleanly, and then its identifier is
    /// already there), and rolls back. A failed attempt after which more
    /// migrations are applied than before it means another process is
    /// migrating: this one reads again and carries on. One after which
    /// nothing moved is a real failure, and it is thrown.
    ///
    /// A file a newer Keygate migrated is refused, before anything is
    /// written and again after (it may have migrated meanwhile): this build
    /// cannot know what those migrations changed, and would write as if
    /// they had not happened.
    ///
    /// - Returns: the migrations applied when this process looked, before
    ///   it migrated.
    @discardableResult
    static func migrate(_ pool: some DatabaseWriter, with migrator: DatabaseMigrator, until deadline: Date) throws -> Set<String> {
        let applied = try refuseNewer(pool, migrator)
        try migrateAlongsideOthers(pool, migrator, from: applied, until: deadline)
        try refuseNewer(pool, migrator)
        return applied
    }

    /// The applied migrations this build does not know, in order of name:
    /// a newer Keygate's (``SchemaTooNew``; a backup's inspection refuses
    /// the same).
    static func unknownMigrations(_ applied: Set<String>, to migrator: DatabaseMigrator = migrator) -> [String] {
        applied.subtracting(migrator.migrations).sorted()
    }

    /// The database was migrated by a newer Keygate than this one: it has
    /// migrations this build does not know.
    public struct SchemaTooNew: Error, CustomStringConvertible {
        /// The migrations this build does not know.
        public let unknown: [String]
        /// The last migration this build knows.
        public let known: String

        public var description: String {
            "the database's schema has migrations newer than this keygate knows (\(unknown.joined(separator: ", ")); "
                + "it knows up to \(known)); run a keygate at least as new as the one that migrated it"
        }
    }

    /// The migrations applied to the file, unless some are unknown here.
    @discardableResult
    private static func refuseNewer(_ pool: some DatabaseWriter, _ migrator: DatabaseMigrator) throws -> Set<String> {
        let applied = try pool.read(migrator.appliedIdentifiers)
        let unknown = unknownMigrations(applied, to: migrator)
        guard unknown.isEmpty else { throw SchemaTooNew(unknown: unknown, known: migrator.migrations.last ?? "none") }
        return applied
    }

    /// `applied`: what was applied when this process looked.
    private static func migrateAlongsideOthers(_ pool: some DatabaseWriter, _ migrator: DatabaseMigrator,
                                               from applied: Set<String>, until deadline: Date) throws {
        var applied = applied
        while true {
            do {
                try migrator.migrate(pool)
                return
            } catch let error as DatabaseError {
                if try pool.read(migrator.hasCompletedMigrations) { return }
                let now = try pool.read(migrator.appliedIdentifiers)
                guard now != applied, Date() < deadline else { throw error }
                applied = now
            }
        }
    }

    /// The task migration v13 leaves in `maintenance` for a database with
    /// secrets: naming each secret's key row (``linkSecrets(_:batch:)``).
    static let linkSecretsTask = "link secrets to their key rows"

    /// Names each secret's key row (`key_secret.key_seq`) where migration
    /// v13 left it unnamed, in transactions of 10,000 secrets (in order of
    /// digest, so each reads only its own) that other processes' writes
    /// fit between: done once, by the first processes to open the file
    /// after the migration (a million secrets: `keygate serve` answered
    /// its first request after 8.6 s here, 62 ms at the next start), and
    /// a look-up meanwhile finds the key through its id. Secrets written
    /// since the migration name their row themselves.
    static func linkSecrets(_ pool: DatabasePool, batch: Int = 10_000) throws {
        guard try pool.read({ db in
            try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM maintenance WHERE task = ?)", arguments: [linkSecretsTask])
        }) == true else { return }
        var after = Data()
        while true {
            let last = try pool.write { db -> Data? in
                guard let last = try Data.fetchOne(db, sql: """
                    SELECT MAX(digest) FROM (SELECT digest FROM key_secret WHERE digest > ? ORDER BY digest LIMIT ?)
                    """, arguments: [after, batch])
                else { return nil }
                try db.execute(sql: """
                    UPDATE key_secret SET key_seq = (SELECT seq FROM api_key WHERE id = key_secret.key_id)
                    WHERE digest > ? AND digest <= ? AND key_seq IS NULL
                    """, arguments: [after, last])
                return last
            }
            guard let last else { break }
            after = last
        }
        try pool.write { db in
            try db.execute(sql: "DELETE FROM maintenance WHERE task = ?", arguments: [linkSecretsTask])
        }
    }

    /// A read-only connection of SQLite's own API, for the readers that
    /// bypass GRDB (the change watcher, verification's reader), waiting on
    /// locks as long as every connection does; `nil` if it cannot open.
    static func openReadOnly(path: String) -> OpaquePointer? {
        openConnection(path: path, flags: SQLITE_OPEN_READONLY)
    }

    /// A connection of SQLite's own API opened with `flags` (the checkpointer
    /// writes), waiting on locks as long as every connection does.
    static func openConnection(path: String, flags: Int32) -> OpaquePointer? {
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, flags | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            let connection
        else {
            sqlite3_close_v2(connection)
            return nil
        }
        sqlite3_busy_timeout(connection, Int32(busyTimeout * 1000))
        return connection
    }

    /// A private in-memory database, for tests and tools.
    public static func inMemory() throws -> DatabaseQueue {
        let queue = try DatabaseQueue(configuration: configuration())
        try migrator.migrate(queue)
        return queue
    }

    /// The configuration of every connection to the database; `usage`, the
    /// usage file each attaches read-only (``attachment(of:)``), for a file
    /// database.
    static func configuration(usage: String? = nil) -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "keygate"
        // WAL with synchronous=NORMAL: a commit is durable once written to
        // the log, which no process crash can undo; only a power loss may
        // drop the last commits (never corrupt the file). FULL would fsync
        // every commit and halve how many keys can be created per second.
        //
        // A checkpoint every 4,000 pages (16 MiB of log) rather than SQLite's
        // 1,000: a key creation writes about sixteen pages, so the default
        // checkpointed every 60 creations, inside one of them, and copied the
        // same hot pages back each time (docs/PERFORMANCE.md has the cost).
        //
        // Savepoint journals in memory, whatever their size: a write group
        // runs each command in a savepoint, whose journal keeps the first
        // version of every page the command changes; in a temporary file
        // that was about 38 `pwrite(2)` calls per created key, most of a
        // creation's time. Not in one block of memory that moves to a file
        // past its size (`SQLITE_CONFIG_STMTJRNL_SPILL`): a block of 128 KiB
        // or more fails the command that outgrows it with `SQLITE_FULL`,
        // and a smaller one moves a busy group's journal to a file, slower
        // than these blocks of 1 KiB (docs/PERFORMANCE.md).
        //
        // The log and its index stay when the last connection closes: a
        // process that may only read the file can open it in WAL mode only
        // if they exist (the checkpointer's connection keeps them too).
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
            try db.execute(sql: "PRAGMA wal_autocheckpoint = \(walCheckpointPages)")
            try db.execute(sql: "PRAGMA temp_store = MEMORY")
            keepLog(db.sqliteConnection)
            if let usage {
                try db.execute(sql: "ATTACH DATABASE ? AS usage", arguments: [attachment(of: usage)])
            }
        }
        return configuration
    }

    /// Has `connection` leave the `-wal` and `-shm` files in place when it
    /// is the last to close (see ``configuration(usage:)``).
    static func keepLog(_ connection: OpaquePointer?) {
        var persist: Int32 = 1
        sqlite3_file_control(connection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
    }
}
