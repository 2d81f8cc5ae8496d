import GRDBSQLite
import Synchronization

/// Copies the write-ahead log into the database file from a connection of
/// its own, when the usage flush is done (``SQLiteKeyStorage/checkpoint()``).
///
/// Left to SQLite, the commit that fills the log past its limit copies it,
/// inside that commit: after a flush had written thousands of pages, the
/// commit of the next `keys.update` spent tens, sometimes hundreds, of
/// milliseconds copying them (docs/PERFORMANCE.md). A passive checkpoint
/// on another connection takes no lock a writer or a reader waits for, so
/// here it runs on the flushing thread while requests go on; the writer's
/// own automatic checkpoint stays as a backstop for a process that never
/// flushes.
final class WALCheckpointer: Sendable {
    private let connection: Mutex<OpaquePointer?>

    init?(path: String) {
        guard let connection = KeyDatabase.openConnection(path: path, flags: SQLITE_OPEN_READWRITE) else { return nil }
        // A connection learns the database is in WAL mode on its first read;
        // until then a checkpoint does nothing.
        guard sqlite3_exec(connection, "SELECT 1 FROM sqlite_master LIMIT 1", nil, nil, nil) == SQLITE_OK else {
            sqlite3_close_v2(connection)
            return nil
        }
        // The log and its index stay if this connection closes last, as
        // with every connection of the pool (`KeyDatabase.configuration()`).
        var persist: Int32 = 1
        sqlite3_file_control(connection, nil, SQLITE_FCNTL_PERSIST_WAL, &persist)
        self.connection = Mutex(connection)
    }

    deinit {
        connection.withLock { _ = sqlite3_close_v2($0) }
    }

    /// Copies as much of the log as no reader still needs; the log's
    /// length and how much of it is now in the database, in pages.
    @discardableResult
    func checkpoint() -> (log: Int, copied: Int)? {
        connection.withLock { connection -> (log: Int, copied: Int)? in
            var log: Int32 = 0
            var copied: Int32 = 0
            guard sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied) == SQLITE_OK
            else { return nil }
            return (Int(log), Int(copied))
        }
    }

    /// With the whole log already copied, marks it to start over at the
    /// next write, if no reader is using it at this instant; never waits
    /// (on a busy writer or reader it gives up at once). A passive
    /// checkpoint copies the log but never starts it over: with readers
    /// always there, the next commit appended, and the log grew (to 800 MB
    /// in two passes of realistic traffic once commits stopped
    /// checkpointing themselves).
    @discardableResult
    func restart() -> Bool {
        connection.withLock { connection -> Bool in
            guard let connection else { return false }
            sqlite3_busy_timeout(connection, 0)
            defer { sqlite3_busy_timeout(connection, Int32(KeyDatabase.busyTimeout * 1000)) }
            return sqlite3_wal_checkpoint_v2(connection, nil, SQLITE_CHECKPOINT_RESTART, nil, nil) == SQLITE_OK
        }
    }
}
