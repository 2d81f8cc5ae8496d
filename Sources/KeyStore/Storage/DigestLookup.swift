import Foundation
import GRDBSQLite
import Locking

/// Verification's cache miss, the key a digest belongs to, through SQLite's
/// own API on a connection of its own: one prepared statement, stepped once,
/// columns read in place. GRDB's row machinery (a cursor, a copied row,
/// columns found by name) cost more than the query itself here
/// (docs/PERFORMANCE.md). The connection is read-only.
///
/// A look-up sees every commit made before it. Each read transaction on a
/// WAL database takes and releases a read lock with two `fcntl(2)` calls,
/// which were a sixth of a miss, so look-ups share one transaction for as
/// long as nothing is committed: the WAL-index header (see
/// ``DataVersionWatcher``), read before the transaction began, still reads
/// the same. When it moved, the transaction ends and a new one begins. A
/// transaction is also never kept longer than
/// ``DataVersionWatcher/recheckInterval``, and ``release()`` ends it, so an
/// idle lookup does not hold back checkpoints.
final class DigestLookup: Sendable {
    private let handles: Locked<Handles>

    private struct Handles: ~Copyable {
        let connection: OpaquePointer
        let statement: OpaquePointer
        let begin: OpaquePointer
        let end: OpaquePointer
        /// The WAL-index header; `nil` when SQLite could not map it, and
        /// then every look-up is a transaction of its own.
        let header: UnsafeRawPointer?
        /// The open transaction: the header as it read just before it began,
        /// and when, in monotonic nanoseconds.
        var open: (header: WALIndexHeader, since: UInt64)?

        /// Ends the open transaction, if any.
        mutating func release() {
            guard open != nil else { return }
            open = nil
            sqlite3_step(end)
            sqlite3_reset(end)
        }

        deinit {
            if open != nil {
                sqlite3_step(end)
                sqlite3_reset(end)
            }
            sqlite3_finalize(statement)
            sqlite3_finalize(begin)
            sqlite3_finalize(end)
            sqlite3_close_v2(connection)
        }
    }

    private static let sql = """
        SELECT s.expires_at, k.id, k.organization_id, k.name, k.kind, k.capabilities, k.environment, k.hint,
               k.rate_limit, k.allowed_origins, k.created_at, k.expires_at, k.revoked_at, k.last_used_at
        FROM key_secret s JOIN api_key k ON k.id = s.key_id
        WHERE s.digest = ?
        """

    init?(path: String) {
        guard let connection = KeyDatabase.openReadOnly(path: path) else { return nil }
        // Index and table pages of recent misses stay in this connection's
        // cache. Not a mapping of the file: that was 10-15% cheaper per miss,
        // but fault-around made 1,000 keys of a million show 300 MiB resident
        // (docs/PERFORMANCE.md).
        sqlite3_exec(connection, "PRAGMA cache_size = -8192", nil, nil, nil)
        var statement: OpaquePointer?
        var begin: OpaquePointer?
        var end: OpaquePointer?
        let persistent = UInt32(SQLITE_PREPARE_PERSISTENT)
        guard sqlite3_prepare_v3(connection, Self.sql, -1, persistent, &statement, nil) == SQLITE_OK, let statement,
            sqlite3_prepare_v3(connection, "BEGIN", -1, persistent, &begin, nil) == SQLITE_OK, let begin,
            sqlite3_prepare_v3(connection, "COMMIT", -1, persistent, &end, nil) == SQLITE_OK, let end
        else {
            sqlite3_finalize(statement)
            sqlite3_finalize(begin)
            sqlite3_close_v2(connection)
            return nil
        }
        // The first read opens the WAL and maps the -shm file; only then is
        // there a header to look at.
        sqlite3_step(statement)
        sqlite3_reset(statement)
        let header = DataVersionWatcher.mapWALIndexHeader(connection)
        handles = Locked(Handles(connection: connection, statement: statement, begin: begin, end: end, header: header))
    }

    /// Ends the shared read transaction, if one is open: called when
    /// look-ups may pause (a flush), so that the transaction does not keep a
    /// checkpoint from reaching the end of the log.
    func release() {
        handles.withLock { $0.release() }
    }

    /// The match for `digest`, `nil` when no secret has it (or its grace
    /// ended before `now`); throws the SQLite result code on failure.
    func find(_ digest: KeyDigest, now: Int64) throws(DigestLookupFailure) -> KeyMatch? {
        try handles.withLock { (handles) throws(DigestLookupFailure) -> KeyMatch? in
            if let mapped = handles.header {
                let header = WALIndexHeader(mapped)
                let now = CoarseClock.nanoseconds()
                if let open = handles.open, open.header == header, now &- open.since < DataVersionWatcher.recheckInterval {
                    // Nothing committed since the transaction began: what it sees is current.
                } else {
                    handles.release()
                    // Begun after the header was read: a commit in between
                    // moves the header again, and the next look-up starts over.
                    let begun = sqlite3_step(handles.begin)
                    sqlite3_reset(handles.begin)
                    if begun == SQLITE_DONE { handles.open = (header, now) }
                }
            }
            let statement = handles.statement
            // Reset at once: a statement left stepped would keep its own
            // read transaction open when none is shared.
            defer {
                sqlite3_reset(statement)
                sqlite3_clear_bindings(statement)
            }
            // SQLITE_TRANSIENT (the C macro is not imported): SQLite copies the bytes.
            let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
            let bound = digest.bytes.withUnsafeBytes { raw in
                sqlite3_bind_blob(statement, 1, raw.baseAddress, Int32(raw.count), transient)
            }
            guard bound == SQLITE_OK else { throw DigestLookupFailure(code: bound) }
            let step = sqlite3_step(statement)
            if step == SQLITE_DONE { return nil }
            guard step == SQLITE_ROW else {
                // Whatever failed, the next look-up starts a transaction afresh.
                handles.release()
                throw DigestLookupFailure(code: step)
            }
            func text(_ column: Int32) -> String {
                guard let bytes = sqlite3_column_text(statement, column) else { return "" }
                return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(statement, column))),
                              as: UTF8.self)
            }
            func time(_ column: Int32) -> Date? {
                sqlite3_column_type(statement, column) == SQLITE_NULL
                    ? nil : StorageCoding.date(sqlite3_column_int64(statement, column))
            }
            if sqlite3_column_type(statement, 0) != SQLITE_NULL, sqlite3_column_int64(statement, 0) <= now { return nil }
            let key = KeyRecord(
                id: text(1), organizationId: text(2), name: text(3), kind: text(4),
                capabilities: StorageCoding.list(text(5)), environment: text(6), hint: text(7),
                rateLimit: Int(sqlite3_column_int64(statement, 8)), allowedOrigins: StorageCoding.list(text(9)),
                createdAt: StorageCoding.date(sqlite3_column_int64(statement, 10)), expiresAt: time(11), revokedAt: time(12),
                lastUsedAt: time(13), usage: KeyUsage())
            return KeyMatch(key: key, secretExpiresAt: time(0))
        }
    }
}

/// A SQLite result code from ``DigestLookup``.
struct DigestLookupFailure: Error {
    let code: Int32
}
