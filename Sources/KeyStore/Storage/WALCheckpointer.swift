import Foundation
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
/// here it runs on the flushing thread while requests go on; then the log
/// is started over. The writer's own automatic checkpoint is off during a
/// flush's batches and the backstop between flushes, and for a process
/// that never flushes.
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
        // with every connection of the pool.
        KeyDatabase.keepLog(connection)
        self.connection = Mutex(connection)
    }

    deinit {
        connection.withLock { _ = sqlite3_close_v2($0) }
    }

    /// How many times ``copyAndRestart(releasing:)`` tries to start the log
    /// over, 1 ms apart.
    static let restartAttempts = 5

    /// Copies as much of the log as no reader still needs, then, if that
    /// was all of it, marks it to start over at the next write. `release`
    /// lets go of this process's own long read transaction (verification's)
    /// before the copy and before each try to start over.
    ///
    /// A passive checkpoint copies the log but never starts it over, and
    /// under traffic some reader was always on it when the next commit
    /// came: the log grew to 800 MB in two passes of realistic traffic once
    /// commits stopped checkpointing themselves. Starting over needs no
    /// reader on the log at that instant; a reader that began during the
    /// copy still is for a moment (one in three tries here succeeded at
    /// once, nearly all by the second, 1 ms later). A try never waits on a
    /// busy writer or reader; a process sharing the file may hold on
    /// longer, and then the log grows until a later flush.
    func copyAndRestart(releasing release: () -> Void) {
        release()
        guard let (log, copied) = checkpoint(SQLITE_CHECKPOINT_PASSIVE), log == copied else { return }
        for attempt in 0..<Self.restartAttempts {
            release()
            if checkpoint(SQLITE_CHECKPOINT_RESTART) != nil { return }
            if attempt + 1 < Self.restartAttempts { Thread.sleep(forTimeInterval: 0.001) }
        }
    }

    /// One checkpoint in `mode`, never waiting on a busy handler; the log's
    /// length and how much of it is now in the database, in pages, or `nil`
    /// if it could not run or complete.
    private func checkpoint(_ mode: Int32) -> (log: Int, copied: Int)? {
        connection.withLock { connection -> (log: Int, copied: Int)? in
            guard let connection else { return nil }
            sqlite3_busy_timeout(connection, 0)
            defer { sqlite3_busy_timeout(connection, Int32(KeyDatabase.busyTimeout * 1000)) }
            var log: Int32 = 0
            var copied: Int32 = 0
            guard sqlite3_wal_checkpoint_v2(connection, nil, mode, &log, &copied) == SQLITE_OK else { return nil }
            return (Int(log), Int(copied))
        }
    }
}
