import Dispatch
import Foundation
import GRDB
import GRDBSQLite
import Synchronization

/// Copies the write-ahead log into the database file from a connection of
/// its own: when the usage flush is done (``SQLiteKeyStorage/checkpoint()``),
/// and, between flushes, on a thread of its own as soon as a commit leaves
/// the log past ``KeyDatabase/walCheckpointPages``.
///
/// Left to SQLite, the commit that fills the log past its limit copies it,
/// inside that commit: after a flush had written thousands of pages, the
/// commit of the next `keys.update` spent tens, sometimes hundreds, of
/// milliseconds copying them, and a run of creations paid for a copy and
/// two `fdatasync(2)` every few thousand keys (docs/PERFORMANCE.md). A
/// passive checkpoint on another connection takes no lock a writer or a
/// reader waits for, so it runs while requests go on; then the log is
/// started over. So the writer's own automatic checkpoint is replaced
/// (``watch(_:releasing:)``): its commits only note the log's length, and
/// the copy starts elsewhere. During a flush's batches even that waits for
/// the flush's own checkpoint at their end.
final class WALCheckpointer: Sendable {
    private let connection: Mutex<OpaquePointer?>
    /// The database's path, whose log file's size decides how the log
    /// starts over.
    private let path: String
    /// The writer whose commits start copies, once watched, and what to
    /// let go of before a copy (verification's long read transaction).
    private let watched = Mutex<(writer: any DatabaseWriter, release: @Sendable () -> Void)?>(nil)
    /// Set while a flush writes its batches (``pause()``).
    private let paused = Atomic<Bool>(false)
    /// Set while a copy a commit started is queued or running.
    private let copying = Atomic<Bool>(false)

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
        self.path = path
    }

    deinit {
        // No commit may call into this object once it is gone. Reentrant:
        // the last reference may go inside one of the writer's own blocks.
        if let writer = watched.withLock({ $0?.writer }) {
            let me = Unmanaged.passUnretained(self).toOpaque()
            writer.unsafeReentrantWrite { db in
                // A writer closed already has no connection, and no hook.
                guard let connection = db.sqliteConnection else { return }
                let previous = sqlite3_wal_hook(connection, nil, nil)
                // Another store on the same writer watched it since: it stays.
                if let previous, previous != me { sqlite3_wal_hook(connection, walHook, previous) }
            }
        }
        connection.withLock { _ = sqlite3_close_v2($0) }
    }

    /// Replaces `writer`'s automatic checkpoint: after each commit, a log
    /// at or past ``KeyDatabase/walCheckpointPages`` starts a copy on a
    /// thread of its own (``copyAndRestart(releasing:)``, with `release`),
    /// unless one is under way or a flush is writing.
    func watch(_ writer: any DatabaseWriter, releasing release: @escaping @Sendable () -> Void) {
        let me = Unmanaged.passUnretained(self).toOpaque()
        let installed = writer.writeWithoutTransaction { db in
            guard let connection = db.sqliteConnection else { return false }
            // Replaces the automatic checkpoint's own hook (a `PRAGMA
            // wal_autocheckpoint` would put that one back).
            _ = sqlite3_wal_hook(connection, walHook, me)
            return true
        }
        if installed { watched.withLock { $0 = (writer, release) } }
    }

    /// A commit left `pages` in the log.
    fileprivate func committed(pages: Int32) {
        guard Int(pages) >= KeyDatabase.walCheckpointPages, !paused.load(ordering: .acquiring),
              copying.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
        else { return }
        DispatchQueue.global(qos: .utility).async { [self] () -> Void in
            copyAndRestart(releasing: watched.withLock { $0?.release } ?? {})
            copying.store(false, ordering: .releasing)
        }
    }

    /// Holds back the copies commits start while a flush writes its
    /// batches: it copies the log itself when they are done, and ``resume()``s.
    func pause() {
        paused.store(true, ordering: .releasing)
    }

    func resume() {
        paused.store(false, ordering: .releasing)
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
    /// longer, and then the log grows until a later flush. A log file
    /// grown past ``KeyDatabase/logSizeLimit`` is emptied as it starts
    /// over (a TRUNCATE checkpoint), giving its disk back.
    func copyAndRestart(releasing release: () -> Void) {
        release()
        guard let (log, copied) = checkpoint(SQLITE_CHECKPOINT_PASSIVE), log == copied else { return }
        let restart = KeyDatabase.logIsPastLimit(path) ? SQLITE_CHECKPOINT_TRUNCATE : SQLITE_CHECKPOINT_RESTART
        for attempt in 0..<Self.restartAttempts {
            release()
            if checkpoint(restart) != nil { return }
            if attempt + 1 < Self.restartAttempts { Thread.sleep(forTimeInterval: 0.001) }
        }
    }

    /// One checkpoint in `mode` (``KeyDatabase/checkpointWithoutWaiting(_:mode:)``).
    private func checkpoint(_ mode: Int32) -> (log: Int, copied: Int)? {
        connection.withLock { connection -> (log: Int, copied: Int)? in
            connection.flatMap { KeyDatabase.checkpointWithoutWaiting($0, mode: mode) }
        }
    }
}

/// The writer's WAL hook (`sqlite3_wal_hook`), called after each commit
/// with the log's length in pages; its context is the ``WALCheckpointer``
/// that watches the writer.
private let walHook: @convention(c) (UnsafeMutableRawPointer?, OpaquePointer?, UnsafePointer<CChar>?, Int32) -> Int32 = {
    context, _, name, pages in
    // Attached files (the usage file) have logs of their own and writers elsewhere.
    guard let context, let name, strcmp(name, "main") == 0 else { return SQLITE_OK }
    Unmanaged<WALCheckpointer>.fromOpaque(context).takeUnretainedValue().committed(pages: pages)
    return SQLITE_OK
}
