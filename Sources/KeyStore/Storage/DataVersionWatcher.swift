import GRDBSQLite
import Synchronization

/// Tells whether the database file changed, through its own read-only
/// connection: `PRAGMA data_version` changes whenever another connection
/// (this process's writer, or any other process) commits.
///
/// It is the cheapest check SQLite offers, one prepared statement on a held
/// connection, so the verification path can ask it on every call and never
/// answer from stale memory.
final class DataVersionWatcher: Sendable {
    private let handles: Mutex<Handles>

    private struct Handles: ~Copyable {
        let connection: OpaquePointer
        let statement: OpaquePointer
        let changeLog: OpaquePointer
        /// The last data version seen, and the change log version read then.
        var seen: (data: Int64, keys: Int64)?

        deinit {
            sqlite3_finalize(statement)
            sqlite3_finalize(changeLog)
            sqlite3_close_v2(connection)
        }
    }

    init?(path: String) {
        var connection: OpaquePointer?
        guard sqlite3_open_v2(path, &connection, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
            let connection
        else {
            sqlite3_close_v2(connection)
            return nil
        }
        sqlite3_busy_timeout(connection, Int32(KeyDatabase.busyTimeout * 1000))
        var statement: OpaquePointer?
        var changeLog: OpaquePointer?
        guard sqlite3_prepare_v2(connection, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK, let statement,
            sqlite3_prepare_v2(connection, "SELECT version FROM change_log", -1, &changeLog, nil) == SQLITE_OK, let changeLog
        else {
            sqlite3_finalize(statement)
            sqlite3_close_v2(connection)
            return nil
        }
        handles = Mutex(Handles(connection: connection, statement: statement, changeLog: changeLog))
    }

    /// The data version and the change log version; `nil` when SQLite could
    /// not answer. The change log is read only when the data version moved,
    /// so the usual cost is one pragma.
    func versions() -> (data: Int64, keys: Int64)? {
        handles.withLock { handles in
            guard let data = Self.single(handles.statement) else { return nil }
            if let seen = handles.seen, seen.data == data { return seen }
            guard let keys = Self.single(handles.changeLog) else { return nil }
            handles.seen = (data, keys)
            return (data, keys)
        }
    }

    /// One integer from a statement. Reset at once: a statement left stepped
    /// keeps a read transaction open, which would freeze what it sees.
    private static func single(_ statement: OpaquePointer) -> Int64? {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return sqlite3_column_int64(statement, 0)
    }
}
