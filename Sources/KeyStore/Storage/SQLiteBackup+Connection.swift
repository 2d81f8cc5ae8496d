import Foundation
import GRDB
import GRDBSQLite

extension SQLiteBackup {
    /// What ``Connection/inspect(as:checking:)`` learns of a database.
    struct Inspection {
        var summary: Summary
        /// Whether keys' counts are in the database's own file: before
        /// migration v12, or where SQLite reads no URIs.
        var countsInDatabase: Bool
    }

    /// A connection of SQLite's own API, for work on whole files: a lock
    /// held for the connection's life and the backup API between two files
    /// of one's choosing, which GRDB's pools and queues are not made for.
    final class Connection {
        let handle: OpaquePointer
        let path: String

        init(_ path: String, flags: Int32) throws(Failure) {
            var handle: OpaquePointer?
            let code = sqlite3_open_v2(path, &handle, flags | SQLITE_OPEN_NOMUTEX, nil)
            guard code == SQLITE_OK, let handle else {
                let message = handle.map { String(cString: sqlite3_errmsg($0)) }
                sqlite3_close_v2(handle)
                throw Failure(.io, path, detail: message)
            }
            self.handle = handle
            self.path = path
            // A reader of a database in use waits, as every connection of
            // Keygate's does, while a writer recovers or resets the log.
            sqlite3_busy_timeout(handle, Int32(KeyDatabase.busyTimeout * 1000))
        }

        /// A connection to copy the file at `path` from. Read-write where
        /// the file allows it, though it changes no row (closing last may
        /// checkpoint the WAL, as any process's connection does): SQLite 3.40's
        /// `VACUUM INTO` from a read-only connection fills the copy's
        /// indexes row by row rather than page by page (1,000,000 keys:
        /// 2.5 million page writes instead of 96,000, 13.4 s instead of
        /// 2.2 s; PERFORMANCE.md, "keygate backup and restore"). A file the
        /// system will not let this process write, SQLite opens read-only
        /// by itself: the copy is slower, and as whole.
        convenience init(copying path: String) throws(Failure) {
            try self.init(path, flags: SQLITE_OPEN_READWRITE)
        }

        deinit {
            sqlite3_close_v2(handle)
        }

        func execute(_ sql: String) throws(Failure) {
            var message: UnsafeMutablePointer<CChar>?
            let code = sqlite3_exec(handle, sql, nil, nil, &message)
            defer { sqlite3_free(message) }
            guard code == SQLITE_OK else {
                let failure = self.failure(code, message.map { String(cString: $0) })
                if sqlite3_get_autocommit(handle) == 0 { sqlite3_exec(handle, "ROLLBACK", nil, nil, nil) }
                throw failure
            }
        }

        /// The first column of each row `sql` answers, as text.
        func strings(_ sql: String, binding argument: String? = nil) throws(Failure) -> [String] {
            var statement: OpaquePointer?
            defer { sqlite3_finalize(statement) }
            var code = sqlite3_prepare_v2(handle, sql, -1, &statement, nil)
            guard code == SQLITE_OK, let statement else { throw failure(code) }
            if let argument {
                sqlite3_bind_text(statement, 1, argument, -1, unsafeBitCast(-1, to: sqlite3_destructor_type.self))
            }
            var rows: [String] = []
            while true {
                code = sqlite3_step(statement)
                guard code == SQLITE_ROW else { break }
                rows.append(sqlite3_column_text(statement, 0).map { String(cString: $0) } ?? "")
            }
            guard code == SQLITE_DONE else { throw failure(code) }
            return rows
        }

        func integer(_ sql: String) throws(Failure) -> Int64 {
            try strings(sql).first.flatMap { Int64($0) } ?? 0
        }

        /// Writes the database, as one read transaction sees it, to a new
        /// file at `copy`.
        func vacuum(into copy: String) throws(Failure) {
            _ = try strings("VACUUM INTO ?", binding: copy)
        }

        /// Replaces `destination`'s database with this one's, in one
        /// transaction of `destination`'s.
        func copy(into destination: Connection) throws(Failure) {
            guard let backup = sqlite3_backup_init(destination.handle, "main", handle, "main") else {
                throw destination.failure(sqlite3_errcode(destination.handle))
            }
            let code = sqlite3_backup_step(backup, -1)
            let finished = sqlite3_backup_finish(backup)
            guard code == SQLITE_DONE else { throw destination.failure(code) }
            guard finished == SQLITE_OK else { throw destination.failure(finished) }
        }

        /// Takes the file for this connection alone until it closes, or
        /// fails at once with `inUse` if another connection has it open.
        ///
        /// In WAL mode every connection keeps a shared lock on the file
        /// from its first read until it closes; in exclusive locking mode
        /// the first access asks for an exclusive one (a new file: the
        /// exclusive transaction's, which that mode keeps). A process that
        /// starts meanwhile waits on it, then fails after its busy timeout.
        func holdExclusively() throws(Failure) {
            sqlite3_busy_timeout(handle, 0)
            try execute("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE; COMMIT")
        }

        /// Checks that this is a Keygate database (whole, with `checking`)
        /// that this version can open, and counts what it holds. `name`:
        /// the file's name in a failure, where this is a copy of it.
        func inspect(as name: String? = nil, checking: Bool = true) throws(Failure) -> Inspection {
            let name = name ?? path
            if checking {
                let check = try strings("PRAGMA quick_check")
                guard check == ["ok"] else {
                    throw Failure(.damaged, name, detail: check.prefix(3).joined(separator: "; "))
                }
            }
            let tables = Set(try strings("SELECT name FROM sqlite_master WHERE type = 'table'"))
            guard tables.isSuperset(of: ["grdb_migrations", "api_key", "subscription"]) else {
                throw Failure(.notKeygate, name)
            }
            let unknown = KeyDatabase.unknownMigrations(Set(try strings("SELECT identifier FROM grdb_migrations")))
            guard unknown.isEmpty else { throw Failure(.newer, name, detail: unknown.joined(separator: ", ")) }
            let summary = Summary(
                keys: Int(try integer("SELECT COUNT(*) FROM api_key")),
                organizations: Int(try integer("SELECT COUNT(*) FROM subscription")),
                bytes: 0,
                lastEventPosition: try eventPosition())
            return Inspection(summary: summary, countsInDatabase: tables.contains("key_usage_day"))
        }

        /// Checks a usage file as ``inspect(as:checking:)`` checks a database.
        func checkUsage(as name: String) throws(Failure) {
            let check = try strings("PRAGMA quick_check")
            guard check == ["ok"] else { throw Failure(.damaged, name, detail: check.prefix(3).joined(separator: "; ")) }
            let version = try integer("PRAGMA user_version")
            guard version >= 1 else { throw Failure(.notKeygate, name) }
            guard version <= KeyDatabase.usageSchemaVersion else {
                throw Failure(.newer, name, detail: "usage file version \(version)")
            }
        }

        /// The position of the newest event the database ever wrote (the
        /// outbox's `AUTOINCREMENT` never gives one twice, even pruned); the
        /// database must be Keygate's.
        func eventPosition() throws(Failure) -> Int64 {
            guard try integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'grdb_migrations'") > 0 else {
                throw Failure(.notKeygate, path)
            }
            return try integer("SELECT COALESCE(MAX(seq), 0) FROM sqlite_sequence WHERE name = 'outbox_event'")
        }

        func failure(_ code: Int32, _ message: String? = nil) -> Failure {
            let message = message ?? String(cString: sqlite3_errmsg(handle))
            switch code & 0xff {
            case SQLITE_BUSY, SQLITE_LOCKED: return Failure(.inUse, path)
            case SQLITE_CORRUPT, SQLITE_NOTADB: return Failure(.damaged, path, detail: message)
            default: return Failure(.io, path, detail: message)
            }
        }
    }
}
