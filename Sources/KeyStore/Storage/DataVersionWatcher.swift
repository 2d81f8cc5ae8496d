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

        deinit {
            sqlite3_finalize(statement)
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
        guard sqlite3_prepare_v2(connection, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK, let statement else {
            sqlite3_close_v2(connection)
            return nil
        }
        handles = Mutex(Handles(connection: connection, statement: statement))
    }

    /// The current data version; `nil` when SQLite could not answer.
    func version() -> Int64? {
        handles.withLock { handles in
            // Reset at once: a statement left stepped keeps a read
            // transaction open, which would freeze the version it sees.
            defer { sqlite3_reset(handles.statement) }
            guard sqlite3_step(handles.statement) == SQLITE_ROW else { return nil }
            return sqlite3_column_int64(handles.statement, 0)
        }
    }
}
