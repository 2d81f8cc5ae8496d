import Foundation
import GRDBSQLite
import Locking

/// Verification's reads from the store, through SQLite's own API on a
/// read-only connection of its own: a key by digest (the cache miss), and
/// what an organization entering the cache needs (its subscription, its
/// oldest live keys, their next expiry, a meter's count). Each is one
/// prepared statement, bound by position, stepped, its columns read in
/// place. Through GRDB (a queue hop, a statement found by its SQL text,
/// named arguments, a copied row, columns found by name, a transaction per
/// statement) the same reads cost several times more: about 65 µs for an
/// organization (docs/PERFORMANCE.md).
///
/// A read sees every commit made before it. Each read transaction on a WAL
/// database takes and releases a read lock with two `fcntl(2)` calls, which
/// were a sixth of a miss, so reads share one transaction for as long as
/// nothing is committed: the WAL-index header (see ``DataVersionWatcher``),
/// read before the transaction began, still reads the same. When it moved,
/// the transaction ends and a new one begins. A transaction is also never
/// kept longer than ``DataVersionWatcher/recheckInterval``, and
/// ``release()`` ends it, so an idle reader does not hold back checkpoints.
final class VerificationReader: Sendable {
    private let handles: Locked<Handles>

    /// The statements; each is prepared at its raw value's place.
    private enum Query: Int, CaseIterable {
        case key, subscription, liveKeys, nextExpiry, meter, meterChanges

        var sql: String {
            switch self {
            case .key: """
                SELECT s.expires_at, k.id, k.organization_id, k.name, k.kind, k.capabilities, k.environment, k.hint,
                       k.rate_limit, k.allowed_origins, k.created_at, k.expires_at, k.revoked_at, k.last_used_at
                FROM key_secret s JOIN api_key k ON \(StorageCoding.secretsKeyRow)
                WHERE s.digest = ?1
                """
            case .subscription: SQLiteKeyStorage.subscriptionQuery
            case .liveKeys: SQLiteKeyStorage.liveKeyIdsQuery
            case .nextExpiry: SQLiteKeyStorage.nextExpiryQuery
            case .meter: SQLiteKeyStorage.storedCountQuery
            case .meterChanges: SQLiteKeyStorage.meterChangesQuery
            }
        }
    }

    private struct Handles: ~Copyable {
        let connection: OpaquePointer
        let statements: [OpaquePointer]
        let begin: OpaquePointer
        let end: OpaquePointer
        /// The WAL-index header; `nil` when SQLite could not map it, and
        /// then every read is a transaction of its own.
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

        /// Keeps the open transaction if nothing was committed since it
        /// began, else begins another.
        mutating func current() {
            guard let mapped = header else { return }
            let header = WALIndexHeader(mapped)
            let now = CoarseClock.nanoseconds()
            if let open, open.header == header, now &- open.since < DataVersionWatcher.recheckInterval {
                // Nothing committed since the transaction began: what it sees is current.
                return
            }
            release()
            // Begun after the header was read: a commit in between moves
            // the header again, and the next read starts over.
            let begun = sqlite3_step(begin)
            sqlite3_reset(begin)
            if begun == SQLITE_DONE { open = (header, now) }
        }

        deinit {
            if open != nil {
                sqlite3_step(end)
                sqlite3_reset(end)
            }
            for statement in statements { sqlite3_finalize(statement) }
            sqlite3_finalize(begin)
            sqlite3_finalize(end)
            sqlite3_close_v2(connection)
        }
    }

    init?(path: String) {
        guard let connection = KeyDatabase.openReadOnly(path: path) else { return nil }
        // Index and table pages of recent misses stay in this connection's
        // cache. Not a mapping of the file: that was 10-15% cheaper per miss,
        // but fault-around made 1,000 keys of a million show 300 MiB resident
        // (docs/PERFORMANCE.md).
        sqlite3_exec(connection, "PRAGMA cache_size = -8192", nil, nil, nil)
        let persistent = UInt32(SQLITE_PREPARE_PERSISTENT)
        var prepared: [OpaquePointer] = []
        func prepare(_ sql: String) -> OpaquePointer? {
            var statement: OpaquePointer?
            guard sqlite3_prepare_v3(connection, sql, -1, persistent, &statement, nil) == SQLITE_OK, let statement else {
                return nil
            }
            prepared.append(statement)
            return statement
        }
        guard Query.allCases.allSatisfy({ prepare($0.sql) != nil }),
            let begin = prepare("BEGIN"), let end = prepare("COMMIT")
        else {
            for statement in prepared { sqlite3_finalize(statement) }
            sqlite3_close_v2(connection)
            return nil
        }
        let statements = Array(prepared.prefix(Query.allCases.count))
        // The first read opens the WAL and maps the -shm file; only then is
        // there a header to look at.
        sqlite3_step(statements[Query.key.rawValue])
        sqlite3_reset(statements[Query.key.rawValue])
        let header = DataVersionWatcher.mapWALIndexHeader(connection)
        handles = Locked(Handles(connection: connection, statements: statements, begin: begin, end: end, header: header))
    }

    /// Ends the shared read transaction, if one is open: called when
    /// reads may pause (a flush), so that the transaction does not keep a
    /// checkpoint from reaching the end of the log.
    func release() {
        handles.withLock { $0.release() }
    }

    /// Runs `query` in the current transaction: `bind` gives its arguments,
    /// `read` steps it and reads the result. Throws the SQLite result code
    /// of a failed bind or step.
    private func run<T: Sendable>(_ query: Query, bind: @Sendable (RawStatement) -> Int32,
                                  read: @Sendable (RawStatement) throws(SQLiteFailure) -> T)
        throws(SQLiteFailure) -> T
    {
        try handles.withLock { (handles) throws(SQLiteFailure) -> T in
            handles.current()
            let statement = RawStatement(handle: handles.statements[query.rawValue])
            do throws(SQLiteFailure) {
                return try statement.use(bind, read: read)
            } catch {
                // Whatever failed, the next read starts a transaction afresh.
                handles.release()
                throw error
            }
        }
    }

    /// The match for `digest`, `nil` when no secret has it (or its grace
    /// ended before `now`).
    func find(_ digest: KeyDigest, now: Int64) throws(SQLiteFailure) -> KeyMatch? {
        try run(.key) { statement in
            digest.bytes.withUnsafeBytes { raw in statement.bind(1, blob: raw) }
        } read: { (statement) throws(SQLiteFailure) -> KeyMatch? in
            guard try statement.step() else { return nil }
            if let secretExpiresAt = statement.int(0), secretExpiresAt <= now { return nil }
            let key = KeyRecord(
                id: statement.text(1), organizationId: statement.text(2), name: statement.text(3),
                kind: statement.text(4), capabilities: StorageCoding.list(statement.text(5)),
                environment: statement.text(6), hint: statement.text(7), rateLimit: Int(statement.int(8) ?? 0),
                allowedOrigins: StorageCoding.origins(statement.text(9)), createdAt: StorageCoding.date(statement.int(10) ?? 0),
                expiresAt: statement.time(11), revokedAt: statement.time(12), lastUsedAt: statement.time(13),
                usage: KeyUsage())
            return KeyMatch(key: key, secretExpiresAt: statement.time(0))
        }
    }

    /// An organization's subscription, `nil` if billing never named one.
    func subscription(organizationId: String) throws(SQLiteFailure) -> SubscriptionRecord? {
        try run(.subscription) { statement in
            statement.bind(1, text: organizationId)
        } read: { (statement) throws(SQLiteFailure) -> SubscriptionRecord? in
            try statement.step() ? SQLiteKeyStorage.subscription(statement) : nil
        }
    }

    /// The ids of an organization's oldest live keys of some kinds (as
    /// ``SQLiteKeyStorage/kindList(_:)`` writes them), up to `limit`.
    func liveKeyIds(organizationId: String, kinds: String, now: Int64, limit: Int) throws(SQLiteFailure) -> [String] {
        try run(.liveKeys) { statement in
            RawStatement.firstFailure(
                SQLiteKeyStorage.bindLiveKeys(statement, organizationId: organizationId, kinds: kinds, now: now),
                statement.bind(statement.index(":limit"), int: Int64(limit)))
        } read: { (statement) throws(SQLiteFailure) -> [String] in
            var ids: [String] = []
            while try statement.step() { ids.append(statement.text(0)) }
            return ids
        }
    }

    /// The earliest expiry among an organization's live keys of some kinds.
    func nextExpiry(organizationId: String, kinds: String, now: Int64) throws(SQLiteFailure) -> Int64? {
        try run(.nextExpiry) { statement in
            SQLiteKeyStorage.bindLiveKeys(statement, organizationId: organizationId, kinds: kinds, now: now)
        } read: { (statement) throws(SQLiteFailure) -> Int64? in
            try statement.step() ? statement.int(0) : nil
        }
    }

    /// A meter's stored count for a period, `nil` when none was written.
    func used(organizationId: String, meter: String, periodStart: Int64) throws(SQLiteFailure) -> Int? {
        try run(.meter) { statement in
            RawStatement.firstFailure(statement.bind(1, text: organizationId), statement.bind(2, text: meter),
                                      statement.bind(3, int: periodStart))
        } read: { (statement) throws(SQLiteFailure) -> Int? in
            try statement.step() ? statement.int(0).map(Int.init) : nil
        }
    }

    /// The counts of a meter that flushes moved after count version `after`,
    /// through `through`: after every flush batch, a few hundred rows.
    func meterChanges(meter: String, after: Int64, through: Int64) throws(SQLiteFailure) -> [MeterChange] {
        try run(.meterChanges) { statement in
            RawStatement.firstFailure(statement.bind(1, int: after), statement.bind(2, int: through),
                                      statement.bind(3, text: meter))
        } read: { (statement) throws(SQLiteFailure) -> [MeterChange] in
            var changes: [MeterChange] = []
            while try statement.step() {
                changes.append(MeterChange(organizationId: statement.text(0), meter: meter,
                                           periodStart: StorageCoding.date(statement.int(1) ?? 0),
                                           used: Int(statement.int(2) ?? 0)))
            }
            return changes
        }
    }
}
