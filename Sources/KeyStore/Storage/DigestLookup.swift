import Foundation
import GRDBSQLite
import Locking

/// Verification's cache miss, the key a digest belongs to, through SQLite's
/// own API on a connection of its own: one prepared statement, stepped once,
/// columns read in place. GRDB's row machinery (a cursor, a copied row,
/// columns found by name) cost more than the query itself here
/// (docs/PERFORMANCE.md). The connection is read-only; each step is its own
/// read transaction, so it sees every commit made before it.
final class DigestLookup: Sendable {
    private let handles: Locked<Handles>

    private struct Handles: ~Copyable {
        let connection: OpaquePointer
        let statement: OpaquePointer

        deinit {
            sqlite3_finalize(statement)
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
        guard sqlite3_prepare_v3(connection, Self.sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil) == SQLITE_OK,
            let statement
        else {
            sqlite3_close_v2(connection)
            return nil
        }
        handles = Locked(Handles(connection: connection, statement: statement))
    }

    /// The match for `digest`, `nil` when no secret has it (or its grace
    /// ended before `now`); throws the SQLite result code on failure.
    func find(_ digest: KeyDigest, now: Int64) throws(DigestLookupFailure) -> KeyMatch? {
        try handles.withLock { (handles) throws(DigestLookupFailure) -> KeyMatch? in
            let statement = handles.statement
            // Reset at once: a statement left stepped keeps a read
            // transaction open, which would freeze what it sees.
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
            guard step == SQLITE_ROW else { throw DigestLookupFailure(code: step) }
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
