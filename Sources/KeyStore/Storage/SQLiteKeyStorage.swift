import Foundation
public import GRDB
import GRDBSQLite
import KeygateJSON
import Locking
import Synchronization

/// The key store on SQLite, through GRDB.
///
/// ```swift
/// let storage = SQLiteKeyStorage(database: try KeyDatabase.open(path: "keygate.sqlite"), rules: rules)
/// let issued = try storage.create(NewKey(organizationId: "org_1", name: "Zapier", kind: "owner_integration",
///                                        capabilities: ["booking.read"], environment: "live", rateLimit: 60))
/// issued.secret.unredacted   // kg_live_…, returned this once
/// ```
public struct SQLiteKeyStorage: KeyStorage {
    public let rules: KeyRules
    let database: any DatabaseWriter
    let clock: any WallClock
    let validator: KeyValidator
    /// Sees commits of other connections (a file database only).
    private let watcher: DataVersionWatcher?
    /// A held read-only connection for the point look-ups of verification:
    /// a pool read sets up a transaction and a reader each time, many times
    /// what one statement on a held connection costs (docs/PERFORMANCE.md).
    private let lookups: DatabaseQueue?
    /// Verification's reads (a key by digest, an organization entering the
    /// cache), on a connection of its own (a file database only).
    private let reader: VerificationReader?
    /// Checkpoints after a usage flush, on a connection of its own (a file database only).
    let checkpointer: WALCheckpointer?
    /// Where keys' usage counts are written, when they are not in the
    /// database itself (a file database: ``KeyDatabase/usagePath(for:)``).
    let usageFile: UsageFile?
    /// Counts this store's own commits, the change token of an in-memory
    /// database, whose single connection cannot see them through `data_version`.
    private let writes: WriteCounter
    /// Beside the database file (`<path>-limits`): one rate limit per key
    /// for every process on this host that opens the file.
    public let rateLimits: (any SharedRateLimits)?
    /// Why a file database's rate-limit table could not be used (then
    /// each process enforces its own limits, and a key's limit multiplies
    /// with the processes); `nil` when it is shared, and for a database in
    /// memory, which no other process opens.
    public let rateLimitsUnavailable: String?
    /// The files of a file database, looked at after each usage flush.
    private let files: DatabaseFiles?
    /// An in-memory database's change log position and count version, and the write count they were read at.
    private let memoryLog: Locked<(writes: Int64, keys: Int64, counts: Int64)?>
    /// Set on the copy of the store that a transaction's commands get
    /// (``transaction(_:)``): every read and write goes through it.
    let bound: BoundConnection?
    /// What opening the file found and left (``init(path:rules:clock:)``),
    /// for a log to say that this process created or migrated the schema;
    /// `nil` for a database the caller opened.
    public private(set) var openingMigration: SchemaMigration?

    public init(database: any DatabaseWriter, rules: KeyRules, clock: any WallClock = SystemClock()) {
        self.init(database: database, rules: rules, clock: clock, watchesChanges: true)
    }

    /// `watchesChanges: false` plays a file whose change watcher could not
    /// be opened (for tests of that fallback).
    init(database: any DatabaseWriter, rules: KeyRules, clock: any WallClock, watchesChanges: Bool) {
        self.database = database
        self.rules = rules
        self.clock = clock
        validator = KeyValidator(rules: rules)
        writes = WriteCounter()
        memoryLog = Locked(nil)
        bound = nil
        let path = database.path
        let isFile = KeyDatabase.isFile(path)
        watcher = isFile && watchesChanges ? DataVersionWatcher(path: path) : nil
        let table: SharedRateTable?
        do throws(SharedRateTable.Unavailable) {
            table = isFile ? try SharedRateTable(path: path + "-limits") : nil
            rateLimitsUnavailable = nil
        } catch {
            table = nil
            rateLimitsUnavailable = error.description
        }
        rateLimits = table
        networkFileSystem = isFile ? NetworkFileSystem.type(at: path) : nil
        isReadOnly = database.writeWithoutTransaction { db in sqlite3_db_readonly(db.sqliteConnection, "main") == 1 }
        reader = isFile ? VerificationReader(path: path) : nil
        checkpointer = isFile ? WALCheckpointer(path: path) : nil
        let usagePath = KeyDatabase.usagePath(for: path)
        // Moved out by migration v12 wherever a usage file is attached.
        let usageMoved = isFile && KeyDatabase.attachesUsage
            && (try? database.read { db in try !db.tableExists("key_usage_day", in: "main") }) == true
        usageFile = usageMoved ? UsageFile(path: usagePath) : nil
        files = isFile ? DatabaseFiles(databasePath: path, usagePath: usageMoved ? usagePath : nil, table: table) : nil
        lookups = isFile ? try? DatabaseQueue(path: path, configuration: {
            var configuration = KeyDatabase.configuration(usage: usageMoved ? usagePath : nil)
            configuration.readonly = true
            return configuration
        }()) : nil
        checkpointer?.watch(database) { [reader] in reader?.release() }
    }

    /// Opens (creating and migrating it if need be) the database file at
    /// `path`. Failures are ``KeyStoreError/Code/storageFailure`` with the
    /// `reason` (`busy`, `read_only`, `full`, `corrupt`, `io`, `other`) and
    /// SQLite's own words as `detail`, so no caller needs to know SQLite.
    public init(path: String, rules: KeyRules, clock: any WallClock = SystemClock()) throws(KeyStoreError) {
        do {
            let (pool, applied) = try KeyDatabase.openMigrating(path: path)
            self.init(database: pool, rules: rules, clock: clock)
            openingMigration = Self.migration(from: applied)
        } catch {
            throw StorageCoding.failure(error, detailing: nil)
        }
    }

    private init(_ storage: SQLiteKeyStorage, boundTo connection: Database) {
        rules = storage.rules
        database = storage.database
        clock = storage.clock
        validator = storage.validator
        watcher = storage.watcher
        usageFile = storage.usageFile
        rateLimits = storage.rateLimits
        rateLimitsUnavailable = storage.rateLimitsUnavailable
        networkFileSystem = storage.networkFileSystem
        isReadOnly = storage.isReadOnly
        files = storage.files
        lookups = storage.lookups
        reader = storage.reader
        checkpointer = storage.checkpointer
        writes = storage.writes
        memoryLog = storage.memoryLog
        openingMigration = storage.openingMigration
        bound = BoundConnection(connection)
    }

    /// The fast reads of a file database this store could not set up (no
    /// file descriptor left when it opened, say), each named with what
    /// takes its place. Answers stay correct and as fresh, only slower: a
    /// missing change watcher costs every verification a read transaction.
    /// Empty when all are in place, and for a database in memory, which
    /// has none. `keygate serve` logs each as a warning when it starts.
    public var slowerReads: [String] {
        guard KeyDatabase.isFile(database.path) else { return [] }
        return [
            watcher == nil ? "change watcher: every verification reads the change log in a transaction of its own" : nil,
            reader == nil ? "verification reader: keys not in the cache are read through the connection pool" : nil,
            lookups == nil ? "look-up connection: point look-ups are read through the connection pool" : nil,
            checkpointer == nil ? "checkpointer: the commit that fills the log copies it into the database, inside that commit" : nil,
        ].compactMap { $0 }
    }

    /// Whether this store's writer could open the database only for
    /// reading (the process may read the file, or its folder, but not
    /// write it): SQLite then opens it read-only without a word, reads are
    /// answered, and every change is refused (`storage_failure`,
    /// `read_only`) until the store is opened again with write access.
    /// `keygate serve` warns when it starts. Found once, when the store
    /// opens: the writer keeps the access it was opened with, and asking
    /// it each time waited behind whatever it was writing.
    public let isReadOnly: Bool

    /// The type of the network file system the database is on (`nfs4`,
    /// `cifs`, `9p`, …), where its processes share no memory through the files
    /// beside it and SQLite's log does not work; `nil` on a file system of
    /// the host's own, and for a database in memory. `keygate serve` warns
    /// when it starts. Found once, when the store opens: an open file
    /// stays on its file system, and reading the mount table each time
    /// was most of what a health check cost (docs/PERFORMANCE.md).
    public let networkFileSystem: String?

    public var shortcomings: [StoreShortcoming] {
        var found: [StoreShortcoming] = []
        if let rateLimitsUnavailable { found.append(.rateLimitsOwn(reason: rateLimitsUnavailable)) }
        if isReadOnly { found.append(.readOnly) }
        if let networkFileSystem { found.append(.networkFileSystem(type: networkFileSystem)) }
        if case let slower = slowerReads, !slower.isEmpty { found.append(.slowerReads(slower)) }
        if let disk = diskSpace, case let needed = DiskSpace.needed(databaseBytes: disk.used), disk.free < needed {
            found.append(.lowDiskSpace(free: disk.free, needed: needed))
        }
        return found
    }

    /// The bytes free on the database's disk and what its files take (the
    /// database, its log, its usage file and that one's log); `nil` in
    /// memory, or when the file system cannot be asked.
    var diskSpace: (free: Int64, used: Int64)? {
        let path = database.path
        guard KeyDatabase.isFile(path) else { return nil }
        let files = [path, path + "-wal"] + (usageFile.map { [$0.path, $0.path + "-wal"] } ?? [])
        return DiskSpace.measure(folderOf: path, files: files)
    }

    /// A read transaction from the pool that reads the database header,
    /// as every request's read begins: the file is there, readable, and
    /// not locked past the busy timeout.
    public func probe() throws(KeyStoreError) {
        try read { db in _ = try Int.fetchOne(db, sql: "PRAGMA schema_version") }
    }

    /// This store, reading and writing through a transaction's connection.
    func bound(to connection: Database) -> SQLiteKeyStorage {
        SQLiteKeyStorage(self, boundTo: connection)
    }

    /// Reads through the held look-up connection where there is one: each
    /// statement sees what was committed when it ran, which is all a point
    /// look-up needs. Inside a transaction, through its connection.
    func lookup<T>(_ body: (Database) throws -> T) throws(KeyStoreError) -> T {
        guard let lookups, bound == nil else { return try read(body) }
        do {
            return try lookups.inDatabase(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    public func changeToken() throws(KeyStoreError) -> ChangeToken {
        guard let watcher else { return try KeyDatabase.isFile(database.path) ? unwatchedFileToken() : memoryToken() }
        guard let versions = watcher.versions() else { throw KeyStoreError(.storageFailure, ["reason": "io"]) }
        return ChangeToken(keys: versions.keys, data: versions.data, counts: versions.counts)
    }

    /// A file whose watcher could not be opened (no descriptor left, say):
    /// other processes' commits are read from the logs themselves, a read
    /// transaction per call. Slower, never stale.
    private func unwatchedFileToken() throws(KeyStoreError) -> ChangeToken {
        let (keys, counts) = try read(Self.logPositions)
        // `data` only has to move when either does.
        return ChangeToken(keys: keys, data: keys &+ counts, counts: counts)
    }

    /// In memory there is one connection and no other process: this
    /// store's own commits are all there is to see, and the change log is
    /// read again only after one.
    private func memoryToken() throws(KeyStoreError) -> ChangeToken {
        let local = writes.value
        if let known = memoryLog.withLock({ $0 }), known.writes == local {
            return ChangeToken(keys: known.keys, data: local, counts: known.counts)
        }
        let (keys, counts) = try lookup(Self.logPositions)
        memoryLog.withLock { $0 = (local, keys, counts) }
        return ChangeToken(keys: keys, data: local, counts: counts)
    }

    /// The change log's position and the count version, in one read
    /// (``DataVersionWatcher`` reads the same through SQLite's own API).
    static let logPositionsSQL = "SELECT (SELECT IFNULL(MAX(seq), 0) FROM change_event), (SELECT version FROM count_log)"

    private static func logPositions(_ db: Database) throws -> (keys: Int64, counts: Int64) {
        let row = try Row.fetchOne(db.cachedStatement(sql: logPositionsSQL))
        return (row?[0] ?? 0, row?[1] ?? 0)
    }

    public func changes(after: Int64, through: Int64) throws(KeyStoreError) -> ChangeSet? {
        try lookup { db -> ChangeSet? in
            // Pruned past `after`: what changed in between is no longer known.
            let oldest = try Int64.fetchOne(db.cachedStatement(sql: "SELECT MIN(seq) FROM change_event")) ?? (through + 1)
            guard oldest <= after + 1 else { return nil }
            var changes = ChangeSet()
            let rows = try Row.fetchCursor(
                db.cachedStatement(sql: """
                    SELECT organization_id, key_id, digest, erased FROM change_event WHERE seq > ? AND seq <= ?
                    """),
                arguments: [after, through])
            while let row = try rows.next() {
                let organization: String? = row["organization_id"]
                if let organization { changes.organizations.insert(organization) }
                // Only the subscription table's triggers, and an erasure, log a row
                // naming no key.
                if let key: String = row["key_id"] {
                    changes.keys.insert(key)
                } else if let organization {
                    changes.subscriptions.insert(organization)
                    if row["erased"] as Bool { changes.erased.insert(organization) }
                }
                if let digest: Data = row["digest"], let parsed = KeyDigest(bytes: Array(digest)) {
                    changes.digests.insert(parsed)
                }
            }
            return changes
        }
    }

    /// The store's clock, to the millisecond it stores.
    var now: Date { StorageCoding.truncated(clock.now()) }

    public func create(_ request: NewKey, limit: LiveKeyLimit?) throws(KeyStoreError) -> IssuedKey {
        let now = self.now
        let new = try validator.newKey(request, now: now)
        let record = new.record
        try write { db in
            if let idempotencyKey = new.idempotencyKey,
               let earlier = try Self.creation(organizationId: record.organizationId, idempotencyKey: idempotencyKey, db)
            {
                throw earlier.refusal(of: new.creation)
            }
            if let limit, try liveKeyCount(record.organizationId, kinds: limit.kinds, now: now, db) >= limit.maximum {
                throw KeyStoreError(.keyLimitReached, ["limit": "\(limit.maximum)"])
            }
            try db.run(cached: """
                    INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint,
                                         rate_limit, allowed_origins, created_at, expires_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """) { row in
                RawStatement.firstFailure(
                    row.bind(1, text: record.id), row.bind(2, text: record.organizationId), row.bind(3, text: record.name),
                    row.bind(4, text: record.kind), row.bind(5, text: StorageCoding.list(record.capabilities)),
                    row.bind(6, text: record.environment), row.bind(7, text: record.hint),
                    row.bind(8, int: Int64(record.rateLimit)),
                    row.bind(9, text: StorageCoding.list(record.allowedOrigins)),
                    row.bind(10, int: StorageCoding.milliseconds(now)),
                    row.bind(11, int: record.expiresAt.map(StorageCoding.milliseconds)))
            }
            try insertSecret(new.digest, keyId: record.id, db)
            if let idempotencyKey = new.idempotencyKey {
                let creation = new.creation
                try db.cachedStatement(sql: """
                    INSERT INTO key_creation (organization_id, idempotency_key, created_at, \(KeyCreation.columns))
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                        record.organizationId, idempotencyKey, StorageCoding.milliseconds(now), creation.keyId, creation.name,
                        creation.kind, creation.capabilities, creation.environment, creation.rateLimit,
                        creation.allowedOrigins, creation.expiresAt,
                    ])
            }
            try appendAudit(.keyCreated, organizationId: record.organizationId, keyId: record.id, actor: new.actor,
                            details: new.auditDetails, at: now, db)
            try insertEvent(record.event(.keyCreated, ["capabilities": .strings(record.capabilities)]), at: now, db)
        }
        return IssuedKey(key: record, secret: new.secret, previousSecretExpiresAt: nil)
    }

    public func earlierCreation(of key: NewKey) throws(KeyStoreError) -> KeyStoreError? {
        guard let sent = try validator.sentCreation(key) else { return nil }
        return try read { db in
            try Self.creation(organizationId: sent.organizationId, idempotencyKey: sent.idempotencyKey, db)
        }?.refusal(of: sent.creation)
    }

    /// The creation made under an idempotency key, if one was.
    static func creation(organizationId: String, idempotencyKey: String, _ db: Database) throws -> KeyCreation? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(KeyCreation.columns) FROM key_creation WHERE organization_id = ? AND idempotency_key = ?"),
            arguments: [organizationId, idempotencyKey]
        ).map { row in
            KeyCreation(keyId: row[0], name: row[1], kind: row[2], capabilities: row[3], environment: row[4],
                        rateLimit: row[5], allowedOrigins: row[6], expiresAt: row[7])
        }
    }

    public func key(id: String, organizationId: String) throws(KeyStoreError) -> KeyRecord {
        // A point look-up: on the held connection, not a pool read (a
        // `keys.update` reads the key before it writes; docs/PERFORMANCE.md).
        try lookup { db in try fetchKey(id: id, organizationId: organizationId, db) }
    }

    public func keys(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?) throws(KeyStoreError)
        -> KeyPage
    {
        let organizationId = try validator.organizationId(organizationId)
        let limit = try KeyValidator.pageSize(limit)
        let after = try cursor.map(StorageCoding.position) ?? Int64.max
        let conditions = ["k.organization_id = :organization", "k.seq < :after"] + [filter.condition(time: ":now")].compactMap { $0 }
        let arguments: StatementArguments = [
            "organization": organizationId, "after": after,
            "now": StorageCoding.milliseconds(now), "limit": limit + 1,
        ]
        let rows = try read { db in
            try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT k.seq, \(StorageCoding.keyColumns) FROM api_key k
                    WHERE \(conditions.joined(separator: " AND "))
                    ORDER BY k.seq DESC LIMIT :limit
                    """),
                arguments: arguments)
        }
        let page = rows.prefix(limit)
        let nextCursor = rows.count > limit ? page.last.map { StorageCoding.cursor($0["seq"]) } : nil
        return KeyPage(keys: page.map { StorageCoding.key($0, offset: 1) }, positions: page.map { $0["seq"] },
                       nextCursor: nextCursor)
    }

    public func keysWithPreviousSecrets(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?)
        throws(KeyStoreError) -> (page: KeyPage, previousSecrets: [String: [PreviousSecret]])
    {
        let page = try keys(organizationId: organizationId, filter: filter, cursor: cursor, limit: limit)
        let now = self.now
        let open = page.keys.filter { $0.state(at: now) == .live }.map(\.id)
        return (page, try previousSecrets(keyIds: open))
    }

    public func keyWithPreviousSecrets(id: String, organizationId: String) throws(KeyStoreError)
        -> (key: KeyRecord, previousSecrets: [PreviousSecret])
    {
        // Two reads: each a statement on the held connection, local work.
        let key = try key(id: id, organizationId: organizationId)
        guard key.state(at: now) == .live else { return (key, []) }
        return (key, try previousSecrets(keyIds: [id])[id] ?? [])
    }

    public func previousSecrets(keyIds: [String]) throws(KeyStoreError) -> [String: [PreviousSecret]] {
        guard !keyIds.isEmpty else { return [:] }
        let now = self.now
        // On the held connection, as `key(id:)`: a pool read costs more
        // than the page's look-ups.
        return try lookup { db in try Self.previousSecrets(keyIds: keyIds, at: now, db) }
    }

    /// The secrets of these keys whose deadline is after `now`, soonest
    /// first, for each key that has any; on `db`, which may be a write's.
    /// One prepared statement stepped for each key: GRDB's rows or a
    /// `json_each` list of the ids each cost more.
    static func previousSecrets(keyIds: [String], at now: Date, _ db: Database) throws -> [String: [PreviousSecret]] {
        let now = StorageCoding.milliseconds(now)
        let statement = try db.statement(cached: """
            SELECT hint, expires_at FROM key_secret WHERE key_id = ? AND expires_at > ? ORDER BY expires_at
            """)
        var secrets: [String: [PreviousSecret]] = [:]
        for keyId in keyIds {
            let found = try db.query(statement, { RawStatement.firstFailure($0.bind(1, text: keyId), $0.bind(2, int: now)) }) {
                (statement) throws(SQLiteFailure) -> [PreviousSecret] in
                var found: [PreviousSecret] = []
                while try statement.step() {
                    found.append(PreviousSecret(hint: statement.optionalText(0),
                                                expiresAt: statement.time(1) ?? Date(timeIntervalSince1970: 0)))
                }
                return found
            }
            if !found.isEmpty { secrets[keyId] = found }
        }
        return secrets
    }

    public func find(secret: String) throws(KeyStoreError) -> KeyLookup {
        try KeyLookup.of(secret, in: rules.format, match)
    }

    /// Ends ``VerificationReader``'s shared read transaction, if one is open.
    func releaseLookup() {
        reader?.release()
    }

    /// Which of the database's files changed under this store since the
    /// last call: a database or usage file removed, moved or replaced
    /// while in use, a rate-limit table followed to its replacement
    /// (``DatabaseFileChange``). The store looks after each usage flush
    /// (``checkpoint()``), and at a call when no flush looked since the
    /// last; `keygate serve` logs each change. Empty for a database in memory.
    public func takeFileChanges() -> [DatabaseFileChange] {
        files?.takeChanges() ?? []
    }

    /// Nothing to forget: the table beside the database has a fixed size,
    /// and a new key takes the slot of the quietest key in its window.
    public func forgetIdleRateLimits(before: Int64, after cursor: Int64?, entries: Int) -> RateLimitSweep {
        RateLimitSweep(forgotten: 0, next: nil)
    }

    public func checkpoint() {
        guard bound == nil else { return }
        files?.look()
        guard let checkpointer else { return }
        // Verification's shared read transaction would keep the checkpoint
        // from the end of the log and the log from starting over.
        checkpointer.copyAndRestart(releasing: releaseLookup)
        releaseLookup()
        // With the log copied, commits start copies again for whatever
        // writes come before the next flush.
        checkpointer.resume()
    }

    /// Verification's miss: through ``VerificationReader`` (one prepared
    /// statement on a connection of its own, no usage counts) where there is
    /// one; an in-memory database, or a store bound to a transaction, reads
    /// it like ``find(secret:)``.
    public func find(digest: KeyDigest) throws(KeyStoreError) -> KeyLookup {
        guard let reader = verificationReader else { return try match(digest) }
        let now = StorageCoding.milliseconds(now)
        return try Self.reading { () throws(SQLiteFailure) in
            try reader.find(digest, now: now).map(KeyLookup.found) ?? .notFound
        }
    }

    /// ``VerificationReader``, unless there is none (an in-memory database)
    /// or this store is bound to a transaction, whose connection every read
    /// goes through.
    var verificationReader: VerificationReader? {
        bound == nil ? reader : nil
    }

    /// Runs one of ``VerificationReader``'s reads, its failure mapped as every storage failure is.
    static func reading<T>(_ body: () throws(SQLiteFailure) -> T) throws(KeyStoreError) -> T {
        do {
            return try body()
        } catch {
            throw StorageCoding.failure(DatabaseError(resultCode: ResultCode(rawValue: error.code)))
        }
    }

    /// The key a digest belongs to, with its usage counts.
    private func match(_ digest: KeyDigest) throws(KeyStoreError) -> KeyLookup {
        let now = StorageCoding.milliseconds(self.now)
        let row = try lookup { db in
            try Row.fetchOne(
                db.cachedStatement(sql: """
                    SELECT s.expires_at AS secret_expires_at, \(StorageCoding.keyColumns)
                    FROM key_secret s JOIN api_key k ON \(StorageCoding.secretsKeyRow)
                    WHERE s.digest = ?
                    """),
                arguments: [Data(digest.bytes)])
        }
        guard let row else { return .notFound }
        let secretExpiresAt: Int64? = row["secret_expires_at"]
        if let secretExpiresAt, secretExpiresAt <= now { return .notFound }
        return .found(KeyMatch(key: StorageCoding.key(row, offset: 1), secretExpiresAt: secretExpiresAt.map(StorageCoding.date)))
    }

    // MARK: Shared steps

    func fetchKey(id: String, organizationId: String, _ db: Database) throws -> KeyRecord {
        guard KeyValidator.canNameKey(id), let row = try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(StorageCoding.keyColumns) FROM api_key k WHERE k.id = ? AND k.organization_id = ?"),
            arguments: [id, organizationId])
        else { throw KeyStoreError(.notFound, field: "keyId") }
        return StorageCoding.key(row)
    }

    /// An organization's live keys (neither revoked nor expired) of some
    /// kinds; bound with ``liveKeysArguments(_:kinds:now:)``. The kinds are
    /// one text, each between spaces (``kindList(_:)``; a kind's id has no
    /// space): a `json_each` list built an ephemeral table on every run
    /// (an organization's first read of its live keys: 25 µs with it, 16 µs
    /// without, on `VerificationReader`).
    static let liveKeysOfKinds = """
        organization_id = :organization AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > :now)
        AND instr(:kinds, ' ' || kind || ' ') > 0
        """

    static func liveKeysArguments(_ organizationId: String, kinds: [String], now: Date) -> StatementArguments {
        ["organization": organizationId, "now": StorageCoding.milliseconds(now), "kinds": kindList(kinds)]
    }

    /// Binds ``liveKeysOfKinds``' named arguments on a ``RawStatement``,
    /// `kinds` as ``kindList(_:)`` writes them.
    static func bindLiveKeys(_ statement: RawStatement, organizationId: String, kinds: String, now: Int64) -> Int32 {
        RawStatement.firstFailure(statement.bind(statement.index(":organization"), text: organizationId),
                                  statement.bind(statement.index(":now"), int: now),
                                  statement.bind(statement.index(":kinds"), text: kinds))
    }

    /// Kinds as ``liveKeysOfKinds`` takes them: ` a b c `.
    static func kindList(_ kinds: [String]) -> String {
        " " + kinds.joined(separator: " ") + " "
    }

    /// Read from ``liveKeysOfKinds``' index alone (migration v14).
    func liveKeyCount(_ organizationId: String, kinds: [String], now: Date, _ db: Database) throws -> Int {
        let count = try db.run(cached: "SELECT COUNT(*) FROM api_key WHERE \(Self.liveKeysOfKinds)") { statement in
            Self.bindLiveKeys(statement, organizationId: organizationId, kinds: Self.kindList(kinds),
                              now: StorageCoding.milliseconds(now))
        }
        return Int(count ?? 0)
    }

    func insertSecret(_ digest: KeyDigest, keyId: String, _ db: Database) throws {
        try db.run(cached: """
                INSERT INTO key_secret (digest, key_id, key_seq, expires_at)
                VALUES (?1, ?2, (SELECT seq FROM api_key WHERE id = ?2), NULL)
                """) { row in
            digest.bytes.withUnsafeBytes { bytes in
                RawStatement.firstFailure(row.bind(1, blob: bytes), row.bind(2, text: keyId))
            }
        }
    }

    /// One transaction, or, bound to a transaction, a write inside its
    /// running command (``BoundConnection/write(_:)``): a failed write
    /// leaves nothing behind either way.
    func write<T>(_ body: (Database) throws -> T) throws(KeyStoreError) -> T {
        do {
            defer { writes.increment() }
            guard let bound else { return try database.write(body) }
            return try bound.write(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A read from the pool, or, bound to a transaction, on its
    /// connection, which sees what the transaction wrote so far.
    func read<T>(_ body: (Database) throws -> T) throws(KeyStoreError) -> T {
        do {
            if let bound { return try body(bound.connection) }
            return try database.read(body)
        } catch {
            throw Self.storeError(error)
        }
    }

    static func storeError(_ error: any Error) -> KeyStoreError {
        switch error {
        case let error as KeyStoreError: error
        case let error as DatabaseError: StorageCoding.failure(error)
        default: KeyStoreError(.storageFailure, ["reason": "other"])
        }
    }
}

/// How many write transactions this store ran.
final class WriteCounter: Sendable {
    private let count = Atomic<Int64>(0)
    var value: Int64 { count.load(ordering: .acquiring) }
    func increment() { count.add(1, ordering: .releasing) }
}
