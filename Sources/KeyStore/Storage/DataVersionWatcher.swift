import GRDBSQLite
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// Tells whether the database file changed, through its own read-only
/// connection: `PRAGMA data_version` changes whenever another connection
/// (this process's writer, or any other process) commits.
///
/// The pragma is exact but not cheap: it is a read transaction, and every
/// read transaction on a WAL database takes and releases a read lock on the
/// `-shm` file with two `fcntl(2)` calls, most of a verification (see
/// docs/PERFORMANCE.md). So the watcher first looks at what SQLite itself
/// looks at to tell whether anything was committed, the WAL-index header
/// at the start of the `-shm` file (https://www.sqlite.org/walformat.html),
/// mapped through the connection's own VFS (`xShmMap`). Every commit rewrites
/// that header, and a commit is visible to readers only once it has. While
/// the header's bytes are the ones seen at the last pragma, nothing was
/// committed since, and the pragma is skipped; when they differ, the pragma
/// runs and decides, as before.
final class DataVersionWatcher: Sendable {
    private let handles: Locked<Handles>

    private struct Handles: ~Copyable {
        let connection: OpaquePointer
        let statement: OpaquePointer
        let changeLog: OpaquePointer
        /// The WAL-index header in shared memory; `nil` when SQLite could not
        /// map it, and then every call runs the pragma.
        var header: UnsafeRawPointer?
        /// The last data version seen, the change and count log versions read
        /// then, and the header as it was just before that pragma ran.
        var seen: (data: Int64, keys: Int64, counts: Int64, header: WALIndexHeader?)?
        /// When the pragma last ran, in monotonic nanoseconds; it runs at
        /// least every ``DataVersionWatcher/recheckInterval`` whatever the
        /// header says.
        var checkedAt: UInt64 = 0

        deinit {
            sqlite3_finalize(statement)
            sqlite3_finalize(changeLog)
            sqlite3_close_v2(connection)
        }
    }

    /// A safety net, not part of the design: should some way of changing
    /// the file without rewriting the header exist, answers could be stale
    /// for at most this long, never indefinitely.
    static let recheckInterval: UInt64 = 100_000_000

    init?(path: String) {
        guard let connection = KeyDatabase.openReadOnly(path: path) else { return nil }
        var statement: OpaquePointer?
        var changeLog: OpaquePointer?
        guard sqlite3_prepare_v2(connection, "PRAGMA data_version", -1, &statement, nil) == SQLITE_OK, let statement,
            sqlite3_prepare_v2(connection, SQLiteKeyStorage.logPositionsSQL, -1, &changeLog, nil) == SQLITE_OK, let changeLog
        else {
            sqlite3_finalize(statement)
            sqlite3_close_v2(connection)
            return nil
        }
        // The first read opens the WAL and maps the -shm file; only then is
        // there a header to look at.
        _ = Self.single(statement)
        let header = Self.mapWALIndexHeader(connection)
        handles = Locked(Handles(connection: connection, statement: statement, changeLog: changeLog, header: header))
    }

    /// Whether the fast check is in use (for tests: without it every call
    /// runs the pragma, which is correct but slow).
    var watchesWALIndex: Bool {
        handles.withLock { $0.header != nil }
    }

    /// The data version, the change log's position and the count log's
    /// version; `nil` when SQLite could not answer. The logs are read only
    /// when the data version moved, and the data version only when the
    /// WAL-index header moved.
    func versions() -> (data: Int64, keys: Int64, counts: Int64)? {
        handles.withLock { handles in
            let header = handles.header.map(WALIndexHeader.init)
            let now = CoarseClock.nanoseconds()
            if let seen = handles.seen, let header, seen.header == header, now &- handles.checkedAt < Self.recheckInterval {
                return (seen.data, seen.keys, seen.counts)
            }
            // The header was read before the pragma runs: a commit landing
            // in between changes the header again, so the next call looks
            // again. Read after, that commit could hide behind it.
            guard let data = Self.single(handles.statement) else { return nil }
            handles.checkedAt = now
            if let seen = handles.seen, seen.data == data {
                handles.seen = (data, seen.keys, seen.counts, header)
                return (data, seen.keys, seen.counts)
            }
            guard let logs = Self.pair(handles.changeLog) else { return nil }
            handles.seen = (data, logs.0, logs.1, header)
            return (data, logs.0, logs.1)
        }
    }


    /// Two integers from a statement's one row (a single read transaction).
    private static func pair(_ statement: OpaquePointer) -> (Int64, Int64)? {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return (sqlite3_column_int64(statement, 0), sqlite3_column_int64(statement, 1))
    }

    /// One integer from a statement. Reset at once: a statement left stepped
    /// keeps a read transaction open, which would freeze what it sees.
    private static func single(_ statement: OpaquePointer) -> Int64? {
        defer { sqlite3_reset(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW else { return nil }
        return sqlite3_column_int64(statement, 0)
    }

    /// The first page of the connection's shared memory, where the WAL-index
    /// header lives, or `nil` when the database is not in WAL mode or its
    /// VFS keeps no shared memory. The mapping belongs to the connection and
    /// lives as long as it does.
    static func mapWALIndexHeader(_ connection: OpaquePointer) -> UnsafeRawPointer? {
        guard journalMode(connection) == "wal" else { return nil }
        var file: UnsafeMutablePointer<sqlite3_file>?
        guard sqlite3_file_control(connection, "main", SQLITE_FCNTL_FILE_POINTER, &file) == SQLITE_OK, let file,
            let methods = file.pointee.pMethods, methods.pointee.iVersion >= 2, let map = methods.pointee.xShmMap
        else { return nil }
        var region: UnsafeMutableRawPointer?
        // Region 0, of the size SQLite itself maps; without extending the file.
        guard map(file, 0, 32 * 1024, 0, &region) == SQLITE_OK, let region else { return nil }
        // `iVersion` 3007000 is the only WAL-index format there has been;
        // `isInit` (offset 12) says the header is in use. Anything else, and
        // the watcher does not trust its reading of the header.
        guard region.load(as: UInt32.self) == 3_007_000, region.load(fromByteOffset: 12, as: UInt8.self) == 1
        else { return nil }
        return UnsafeRawPointer(region)
    }

    private static func journalMode(_ connection: OpaquePointer) -> String? {
        var statement: OpaquePointer?
        guard sqlite3_prepare_v2(connection, "PRAGMA journal_mode", -1, &statement, nil) == SQLITE_OK, let statement
        else { return nil }
        defer { sqlite3_finalize(statement) }
        guard sqlite3_step(statement) == SQLITE_ROW, let text = sqlite3_column_text(statement, 0) else { return nil }
        return String(cString: text)
    }
}

/// The first copy of the WAL-index header: 48 bytes that every commit
/// rewrites (frame count, change counter, salts, checksums). A writer
/// writes the second copy first and this one last, so if this copy still
/// reads as before, the commit has not completed.
struct WALIndexHeader: Equatable {
    private let words: (UInt64, UInt64, UInt64, UInt64, UInt64, UInt64)

    init(_ header: UnsafeRawPointer) {
        words = (header.load(fromByteOffset: 0, as: UInt64.self), header.load(fromByteOffset: 8, as: UInt64.self),
                 header.load(fromByteOffset: 16, as: UInt64.self), header.load(fromByteOffset: 24, as: UInt64.self),
                 header.load(fromByteOffset: 32, as: UInt64.self), header.load(fromByteOffset: 40, as: UInt64.self))
    }

    static func == (lhs: WALIndexHeader, rhs: WALIndexHeader) -> Bool {
        lhs.words.0 == rhs.words.0 && lhs.words.1 == rhs.words.1 && lhs.words.2 == rhs.words.2
            && lhs.words.3 == rhs.words.3 && lhs.words.4 == rhs.words.4 && lhs.words.5 == rhs.words.5
    }
}
