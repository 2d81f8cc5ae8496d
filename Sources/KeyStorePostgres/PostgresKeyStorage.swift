import Foundation
public import KeyStore
import KeygateJSON

/// The key store on PostgreSQL, for products whose API runs on several
/// hosts: every host's processes open the same database and see one truth.
/// It implements the storage boundary of docs/STORAGE.md with the same
/// behaviour as ``SQLiteKeyStorage``, checked by the same tests.
///
/// ```swift
/// let storage = try PostgresKeyStorage(url: "postgresql://keygate@db.internal/keygate", rules: rules)
/// ```
///
/// A connection string's password never appears in an error or a log:
/// failures carry a reason (`unreachable`, `busy`, `read_only`, `full`,
/// `corrupt`, `other`) and the server's own words without the string.
public struct PostgresKeyStorage: KeygateStorage {
    public let rules: KeyRules
    let pool: PGPool
    let clock: any WallClock
    let validator: KeyValidator
    let watch: ChangeWatch
    /// Set on the copy of the store that a transaction's commands get.
    let bound: PGConnection?
    /// What connecting found and left of the schema (the version under
    /// the migrations' lock, and this build's), for a log to say that this
    /// process created or migrated it.
    public let openingMigration: SchemaMigration
    public var rateLimits: (any SharedRateLimits)? { reservations }
    /// Changes polled for while the listening connection is down
    /// (``Freshness/notified(poll:)``). A server that cannot be reached, or
    /// refuses writes, fails its requests instead, and ``probe()`` says so.
    public var shortcomings: [StoreShortcoming] {
        watch.pollingInstead.map { [.changesPolled(every: $0)] } ?? []
    }
    /// The rate limits, as the reservation a key's read takes needs them.
    let reservations: PostgresRateLimits
    let answerTimeouts: AnswerTimeouts

    /// How verification learns of changes other hosts commit.
    public enum Freshness: Sendable, Hashable {
        /// Each verification asks the server (one round trip): nothing is
        /// ever answered from state older than the last commit.
        case strict
        /// Changes arrive by LISTEN/NOTIFY within milliseconds of their
        /// commit; while the listening connection is down, a poll every
        /// `poll` seconds is the bound.
        case notified(poll: Double)
        /// No listening: the server is asked at most every `every` seconds,
        /// the bound on staleness (for poolers that cannot pass LISTEN).
        case polled(every: Double)
    }

    /// What verification does about rate limits while PostgreSQL cannot be reached.
    public enum RateLimitOutage: String, Sendable, Hashable {
        /// Refuse (`rate_limited`, retry in a second): never over a limit.
        case refuse
        /// Each process enforces each key's whole limit on its own, so N
        /// processes may admit up to N times it until the server is back.
        case local
    }

    /// How long one round trip waits for PostgreSQL's answer. Past it the
    /// statement is canceled and fails with `storage_failure`, reason
    /// `busy`; a server that does not take the cancel within a second
    /// either (its process stopped, its disk hung: its kernel still
    /// acknowledges what is sent, so no TCP timeout ever fires) fails it as
    /// `unreachable`, and later calls fail at once until it answers again
    /// (docs/STORAGE.md, Faults). Without a limit, `keygate serve`, which
    /// answers in order, would hold every request behind that one for as
    /// long as the server stayed stuck. Migrations wait as long as they take.
    public struct AnswerTimeouts: Sendable, Hashable {
        /// Verification's own round trips: the look-up of a key memory
        /// lacks, the check for changes, a rate-limit reservation. Each
        /// takes well under a millisecond on a healthy server; a
        /// verification that waits longer holds up those behind it.
        public var verification: Duration
        /// Every other round trip: writes (whose waits for locks end
        /// sooner, at five seconds), listings, `keygate status`.
        public var other: Duration

        public init(verification: Duration = .seconds(2), other: Duration = .seconds(30)) {
            self.verification = verification
            self.other = other
        }
    }

    /// What a connection to `url` is: a server session of its own, or one
    /// lent for each transaction by a pooler (PgBouncer's `pool_mode`).
    public enum PoolMode: String, Sendable, Hashable {
        /// The server directly, or a pooler in session mode: each statement
        /// is prepared once per connection and kept.
        case session
        /// A pooler in transaction mode: each statement is sent unnamed and
        /// parsed every time (a session's prepared statements do not
        /// follow a client from one transaction to the next), and
        /// verification cannot be ``Freshness/notified(poll:)`` (`LISTEN`
        /// needs a session of its own).
        case transaction
    }

    /// Connects to the database `url` names (a `postgresql://` URL, or a
    /// libpq keyword/value string such as `host=db dbname=keygate`, read
    /// as ``url(fromKeywords:)`` reads it), migrating its schema first if
    /// this is the first host to see it, in one transaction under an
    /// advisory lock, so that hosts starting together migrate once.
    ///
    /// Behind a pooler in transaction mode, pass `poolMode: .transaction`
    /// with `.polled` or `.strict` freshness; `.notified` is refused there.
    ///
    /// While the server cannot be reached, keys in memory keep being
    /// verified (notified or polled freshness) for `unreachableGrace`
    /// after it last answered, then verifications fail with
    /// `storage_failure` (`unreachable`) until it answers again: the bound
    /// on stale answers when only this host is cut off and others commit
    /// (a revocation) meanwhile.
    public init(url: String, rules: KeyRules, clock: any WallClock = SystemClock(),
                freshness: Freshness = .notified(poll: 1), rateLimitOutage: RateLimitOutage = .local,
                poolMode: PoolMode = .session, answerTimeouts: AnswerTimeouts = AnswerTimeouts(),
                unreachableGrace: Duration = Self.unreachableGrace) throws(KeyStoreError) {
        if poolMode == .transaction, case .notified = freshness {
            throw KeyStoreError(.storageFailure, [
                "reason": "other",
                "detail": "notified freshness needs LISTEN, which a pooler in transaction mode cannot pass; use polled or strict",
            ])
        }
        let prepares = poolMode == .session
        let conninfo = Self.conninfo(for: url)
        let reachability = ServerReachability()
        let pool = PGPool(conninfo: conninfo, prepares: prepares, answerTimeout: answerTimeouts.other,
                          reachability: reachability)
        do {
            openingMigration = try pool.withConnection(Self.migrate)
        } catch {
            throw Self.storeError(error, detail: true)
        }
        self.pool = pool
        self.rules = rules
        self.clock = clock
        self.answerTimeouts = answerTimeouts
        validator = KeyValidator(rules: rules)
        bound = nil
        // Verification's own connections: it may need one while a unit of
        // work holds one of the main pool's, and a pool with a limit must
        // never be asked twice by one caller.
        let verification = PGPool(conninfo: conninfo, prepares: prepares, answerTimeout: answerTimeouts.verification,
                                  keep: 2, limit: 8, reachability: reachability)
        watch = ChangeWatch(pool: verification, freshness: freshness, grace: unreachableGrace)
        reservations = PostgresRateLimits(pool: verification, outage: rateLimitOutage)
    }

    private init(_ storage: PostgresKeyStorage, boundTo connection: PGConnection) {
        rules = storage.rules
        pool = storage.pool
        clock = storage.clock
        validator = storage.validator
        watch = storage.watch
        reservations = storage.reservations
        answerTimeouts = storage.answerTimeouts
        openingMigration = storage.openingMigration
        bound = connection
    }

    /// How long keys in memory keep being verified while the server cannot
    /// be reached, by default: a minute, through a failover's usual
    /// length, and the bound on answers gone stale meanwhile.
    public static let unreachableGrace = Duration.seconds(60)

    /// How long a write waits for a row or table another session holds (a
    /// `psql` session left open in a transaction, a long report) before it
    /// fails with `storage_failure`, reason `busy`, nothing done: SQLite's
    /// busy timeout, so that a request never waits for ever on either
    /// store, and nor does every request behind it on the same pipe.
    static let lockTimeout = Duration.seconds(KeyDatabase.busyTimeout)

    /// The store's clock, to the millisecond it stores.
    var now: Date { StorageCoding.truncated(clock.now()) }

    // MARK: Keys

    public func create(_ request: NewKey, limit: LiveKeyLimit?) throws(KeyStoreError) -> IssuedKey {
        let now = self.now
        let new = try validator.newKey(request, now: now)
        let record = new.record
        try write { connection in
            // Creations for one organization take turns, so two hosts
            // cannot both see one slot left and both take it, nor both
            // find an idempotency key unused and both create under it;
            // and an erasure of the organization waits for a creation
            // under way, which would otherwise leave a key whose audit
            // entry and event the erasure took (its later statements see
            // what committed meanwhile). One more statement in the
            // creation's round trip.
            lockOrganization(record.organizationId, connection)
            if let idempotencyKey = new.idempotencyKey,
               let earlier = try Self.creation(organizationId: record.organizationId, idempotencyKey: idempotencyKey, connection)
            {
                throw earlier.refusal(of: new.creation)
            }
            if let limit, try liveKeyCount(record.organizationId, kinds: limit.kinds, now: now, connection) >= limit.maximum {
                throw KeyStoreError(.keyLimitReached, ["limit": "\(limit.maximum)"])
            }
            connection.send("""
                INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint,
                                     rate_limit, allowed_origins, created_at, expires_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                """, [
                .text(record.id), .text(record.organizationId), .text(record.name), .text(record.kind),
                .text(StorageCoding.list(record.capabilities)), .text(record.environment), .text(record.hint),
                .of(record.rateLimit), .text(StorageCoding.list(record.allowedOrigins)),
                .integer(StorageCoding.milliseconds(now)), .of(record.expiresAt.map(StorageCoding.milliseconds)),
            ])
            insertSecret(new.digest, keyId: record.id, connection)
            if let idempotencyKey = new.idempotencyKey {
                let creation = new.creation
                connection.send("""
                    INSERT INTO key_creation (organization_id, idempotency_key, created_at, \(KeyCreation.columns))
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                    """, [
                    .text(record.organizationId), .text(idempotencyKey), .integer(StorageCoding.milliseconds(now)),
                    .text(creation.keyId), .text(creation.name), .text(creation.kind), .text(creation.capabilities),
                    .of(creation.environment), .of(creation.rateLimit.map(Int64.init)), .text(creation.allowedOrigins),
                    .of(creation.expiresAt),
                ])
            }
            appendAudit(.keyCreated, organizationId: record.organizationId, keyId: record.id, actor: new.actor,
                        details: new.auditDetails, at: now, connection)
            insertEvent(record.event(.keyCreated, ["capabilities": .strings(record.capabilities)]), at: now, connection)
        }
        return IssuedKey(key: record, secret: new.secret, previousSecretExpiresAt: nil)
    }

    public func earlierCreation(of key: NewKey) throws(KeyStoreError) -> KeyStoreError? {
        guard let sent = try validator.sentCreation(key) else { return nil }
        return try read { connection in
            try Self.creation(organizationId: sent.organizationId, idempotencyKey: sent.idempotencyKey, connection)
        }?.refusal(of: sent.creation)
    }

    /// The creation made under an idempotency key, if one was.
    static func creation(organizationId: String, idempotencyKey: String, _ connection: PGConnection) throws -> KeyCreation? {
        let row = try connection.query(
            "SELECT \(KeyCreation.columns) FROM key_creation WHERE organization_id = $1 AND idempotency_key = $2",
            [.text(organizationId), .text(idempotencyKey)])
        guard row.count > 0 else { return nil }
        return KeyCreation(
            keyId: row.string(0, 0) ?? "", name: row.string(0, 1) ?? "", kind: row.string(0, 2) ?? "",
            capabilities: row.string(0, 3) ?? "", environment: row.string(0, 4), rateLimit: row.int(0, 5),
            allowedOrigins: row.string(0, 6) ?? "", expiresAt: row.int64(0, 7))
    }

    public func key(id: String, organizationId: String) throws(KeyStoreError) -> KeyRecord {
        try read { connection in try fetchKey(id: id, organizationId: organizationId, connection) }
    }

    public func keyWithPreviousSecrets(id: String, organizationId: String) throws(KeyStoreError)
        -> (key: KeyRecord, previousSecrets: [PreviousSecret])
    {
        // The secrets in the key's own statement: a round trip, a quarter
        // of a `keys.get`, less (docs/PERFORMANCE.md).
        let now = self.now
        let result = try read { connection in
            try keyRow(id: id, organizationId: organizationId, then: Self.previousSecretsColumn(time: "$3"),
                       [.integer(StorageCoding.milliseconds(now))], connection)
        }
        let key = Self.key(result, 0)
        guard key.state(at: now) == .live else { return (key, []) }
        // The secrets' column is the last.
        return (key, try Self.previousSecrets(result, 0, column: result.columns - 1))
    }

    public func keys(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?) throws(KeyStoreError)
        -> KeyPage
    {
        try page(organizationId: organizationId, filter: filter, cursor: cursor, limit: limit, withPreviousSecrets: false).page
    }

    public func keysWithPreviousSecrets(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?)
        throws(KeyStoreError) -> (page: KeyPage, previousSecrets: [String: [PreviousSecret]])
    {
        try page(organizationId: organizationId, filter: filter, cursor: cursor, limit: limit, withPreviousSecrets: true)
    }

    /// A page of keys, and with `withPreviousSecrets` each open key's
    /// earlier secrets in the same statement (a plan's preview, which reads
    /// every live key, does not need them).
    private func page(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?, withPreviousSecrets: Bool)
        throws(KeyStoreError) -> (page: KeyPage, previousSecrets: [String: [PreviousSecret]])
    {
        let organizationId = try validator.organizationId(organizationId)
        let limit = try KeyValidator.pageSize(limit)
        let after = try cursor.map(StorageCoding.position) ?? Int64.max
        let now = self.now
        // $3 the limit, $4 the time when the filter or the secrets need one.
        let condition = filter.condition(time: "$4")
        let conditions = ["k.organization_id = $1", "k.seq < $2"] + [condition].compactMap { $0 }
        var arguments: [PGValue] = [.text(organizationId), .integer(after), .of(limit + 1)]
        if withPreviousSecrets || condition?.contains("$4") == true { arguments.append(.integer(StorageCoding.milliseconds(now))) }
        let secrets = withPreviousSecrets ? ", " + Self.previousSecretsColumn(time: "$4") : ""
        let result = try read(listing: true) { connection in
            try connection.query("""
                SELECT k.seq, \(Self.keyColumns)\(secrets) FROM api_key k
                WHERE \(conditions.joined(separator: " AND "))
                ORDER BY k.seq DESC LIMIT $3
                """, arguments)
        }
        let rows = min(result.count, limit)
        let keys = (0..<rows).map { Self.key(result, $0, offset: 1) }
        let nextCursor = result.count > limit ? result.int64(rows - 1, 0).map(StorageCoding.cursor) : nil
        let page = KeyPage(keys: keys, positions: (0..<rows).map { result.int64($0, 0) ?? 0 }, nextCursor: nextCursor)
        guard withPreviousSecrets else { return (page, [:]) }
        var previous: [String: [PreviousSecret]] = [:]
        for (row, key) in keys.enumerated() where key.state(at: now) == .live {
            let found = try Self.previousSecrets(result, row, column: result.columns - 1)
            if !found.isEmpty { previous[key.id] = found }
        }
        return (page, previous)
    }

    public func previousSecrets(keyIds: [String]) throws(KeyStoreError) -> [String: [PreviousSecret]] {
        guard !keyIds.isEmpty else { return [:] }
        let now = self.now
        return try read { connection in try Self.previousSecrets(keyIds: keyIds, at: now, connection) }
    }

    /// The secrets of these keys whose deadline is after `now`, soonest
    /// first, for each key that has any, in one statement on `connection`
    /// (which may be a write's).
    static func previousSecrets(keyIds: [String], at now: Date, _ connection: PGConnection) throws
        -> [String: [PreviousSecret]]
    {
        let result = try connection.query("""
            SELECT key_id, hint, expires_at FROM key_secret
            WHERE key_id = ANY ($1::text[]) AND expires_at > $2
            ORDER BY key_id, expires_at
            """, [.text(textArray(keyIds)), .integer(StorageCoding.milliseconds(now))])
        var secrets: [String: [PreviousSecret]] = [:]
        for row in 0..<result.count {
            guard let keyId = result.string(row, 0), let expiresAt = result.int64(row, 2) else { continue }
            secrets[keyId, default: []].append(PreviousSecret(hint: result.string(row, 1), expiresAt: StorageCoding.date(expiresAt)))
        }
        return secrets
    }

    public func update(id: String, organizationId: String, changes: KeyChanges, actor: String?) throws(KeyStoreError)
        -> KeyRecord
    {
        let now = self.now
        let checked = try validator.changes(changes, actor: actor, now: now)
        return try write { connection in
            var key = try fetchKey(id: id, organizationId: organizationId, forUpdate: true, connection)
            guard key.revokedAt == nil else { throw KeyStoreError(.keyRevoked, field: "keyId") }
            let details = checked.apply(to: &key)
            guard !details.isEmpty else { return key }
            connection.send("""
                UPDATE api_key SET name = $1, capabilities = $2, rate_limit = $3, allowed_origins = $4, expires_at = $5
                WHERE id = $6 AND organization_id = $7
                """, [
                .text(key.name), .text(StorageCoding.list(key.capabilities)), .of(key.rateLimit),
                .text(StorageCoding.list(key.allowedOrigins)), .of(key.expiresAt.map(StorageCoding.milliseconds)),
                .text(id), .text(organizationId),
            ])
            appendAudit(.keyUpdated, organizationId: organizationId, keyId: id, actor: checked.actor,
                        details: details.audit, at: now, connection)
            insertEvent(key.updateEvent(details), at: now, connection)
            return key
        }
    }

    public func rotate(id: String, organizationId: String, gracePeriodSeconds: Int, actor: String?,
                       idempotencyKey: String?) throws(KeyStoreError) -> IssuedKey
    {
        let now = self.now
        let rotation = try validator.rotation(gracePeriodSeconds: gracePeriodSeconds, actor: actor,
                                              idempotencyKey: idempotencyKey, now: now)
        let nowMilliseconds = StorageCoding.milliseconds(now)
        let previousExpiresAt = rotation.previousExpiresAt
        let remembered = KeyRotation(keyId: id, gracePeriodSeconds: rotation.grace)
        return try write { connection in
            if let idempotencyKey = rotation.idempotencyKey {
                // Claimed before the key is locked: a rotation under the
                // same idempotency key in another session waits here for
                // this one's commit (then finds the row) or rollback (then
                // claims it), whichever key either names, and no session
                // holds a key's row while it waits for a claim.
                let claimed = try connection.query("""
                    INSERT INTO key_rotation (organization_id, idempotency_key, rotated_at, \(KeyRotation.columns))
                    VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1
                    """, [.text(organizationId), .text(idempotencyKey), .integer(nowMilliseconds), .text(id),
                          .of(rotation.grace)])
                if claimed.count == 0 {
                    // Read committed: the look-up sees the row the insert gave way to.
                    throw try Self.rotation(organizationId: organizationId, idempotencyKey: idempotencyKey, connection)
                        .map { $0.refusal(of: remembered) }
                        ?? KeyStoreError(.storageFailure, ["reason": "other"])
                }
            }
            var key = try fetchKey(id: id, organizationId: organizationId, forUpdate: true, connection)
            try rotation.check(key)
            let secret = rules.format.generate(environment: key.environment)
            let parsed = validator.parsedOwnSecret(secret)
            connection.send("DELETE FROM key_secret WHERE key_id = $1 AND expires_at <= $2",
                            [.text(id), .integer(nowMilliseconds)])
            if let previousExpiresAt {
                let working = try connection.query("SELECT COUNT(*) FROM key_secret WHERE key_id = $1 AND expires_at IS NOT NULL",
                                                   [.text(id)])
                try rotation.checkRoom(working: working.int(0, 0) ?? 0)
                // The key's hint is still the replaced secret's: it goes with it.
                connection.send("UPDATE key_secret SET expires_at = $1, hint = $2 WHERE key_id = $3 AND expires_at IS NULL",
                                [.integer(StorageCoding.milliseconds(previousExpiresAt)), .text(key.hint), .text(id)])
            } else {
                connection.send("DELETE FROM key_secret WHERE key_id = $1 AND expires_at IS NULL", [.text(id)])
            }
            insertSecret(parsed.digest, keyId: id, connection)
            connection.send("UPDATE api_key SET hint = $1 WHERE id = $2", [.text(parsed.hint), .text(id)])
            key.hint = parsed.hint
            appendAudit(.keyRotated, organizationId: organizationId, keyId: id, actor: rotation.actor,
                        details: rotation.auditDetails, at: now, connection)
            insertEvent(key.event(.keyRotated, rotation.eventDetails), at: now, connection)
            return IssuedKey(key: key, secret: secret, previousSecretExpiresAt: previousExpiresAt)
        }
    }

    public func earlierRotation(id: String, organizationId: String, gracePeriodSeconds: Int, idempotencyKey: String)
        throws(KeyStoreError) -> KeyStoreError?
    {
        let sent = try validator.sentRotation(id: id, organizationId: organizationId,
                                              gracePeriodSeconds: gracePeriodSeconds, idempotencyKey: idempotencyKey)
        return try read { connection in
            try Self.rotation(organizationId: sent.organizationId, idempotencyKey: sent.idempotencyKey, connection)
        }?.refusal(of: sent.rotation)
    }

    /// The rotation made under an idempotency key, if one was.
    static func rotation(organizationId: String, idempotencyKey: String, _ connection: PGConnection) throws -> KeyRotation? {
        let row = try connection.query(
            "SELECT \(KeyRotation.columns) FROM key_rotation WHERE organization_id = $1 AND idempotency_key = $2",
            [.text(organizationId), .text(idempotencyKey)])
        guard row.count > 0 else { return nil }
        return KeyRotation(keyId: row.string(0, 0) ?? "", gracePeriodSeconds: row.int(0, 1) ?? 0)
    }

    public func stopPreviousSecrets(id: String, organizationId: String, actor: String?) throws(KeyStoreError) -> KeyRecord {
        let actor = try validator.actor(actor)
        let now = self.now
        return try write { connection in
            // Locked as a rotation locks it: a rotation at the same moment
            // waits, and leaves its own previous secret to this one or
            // comes after it.
            let key = try fetchKey(id: id, organizationId: organizationId, forUpdate: true, connection)
            try key.checkSecretsChangeable(at: now)
            guard let stopped = try Self.previousSecrets(keyIds: [id], at: now, connection)[id] else { return key }
            // Those whose grace has run out go too: dead weight, as a rotation finds them.
            connection.send("DELETE FROM key_secret WHERE key_id = $1 AND expires_at IS NOT NULL", [.text(id)])
            let secrets = KeyRecord.stoppedSecrets(stopped)
            appendAudit(.keyPreviousSecretsStopped, organizationId: organizationId, keyId: id, actor: actor,
                        details: ["name": .string(key.name), "secrets": secrets], at: now, connection)
            insertEvent(key.event(.keyPreviousSecretsStopped, ["secrets": secrets]), at: now, connection)
            return key
        }
    }

    public func revoke(id: String, organizationId: String, actor: String?, reason: String?) throws(KeyStoreError)
        -> KeyRecord
    {
        let actor = try validator.actor(actor)
        let reason = try reason.map { reason throws(KeyStoreError) in try validator.reason(reason) }
        let now = self.now
        return try write { connection in
            var key = try fetchKey(id: id, organizationId: organizationId, forUpdate: true, connection)
            guard key.revokedAt == nil else { return key }
            connection.send("UPDATE api_key SET revoked_at = $1 WHERE id = $2",
                            [.integer(StorageCoding.milliseconds(now)), .text(id)])
            key.revokedAt = now
            appendAudit(.keyRevoked, organizationId: organizationId, keyId: id, actor: actor,
                        details: KeyRecord.revocationDetails(key, reason: reason), at: now, connection)
            insertEvent(key.event(.keyRevoked, reason.map { ["reason": .string($0)] } ?? [:]), at: now, connection)
            return key
        }
    }

    public func flagLeaked(id: String, organizationId: String, secret: LeakedSecret, actor: String?, location: String?)
        throws(KeyStoreError)
    {
        let actor = try validator.actor(actor)
        let location = try location.map { location throws(KeyStoreError) in try validator.reason(location) }
        let now = self.now
        try write { connection in
            let key = try fetchKey(id: id, organizationId: organizationId, connection)
            appendAudit(.keyLeakReported, organizationId: organizationId, keyId: id, actor: actor,
                        details: KeyRecord.leakDetails(key, secret: secret, location: location), at: now, connection)
            insertEvent(key.leakEvent(revoked: false, secret: secret, location: location), at: now, connection)
        }
    }

    public func delete(id: String, organizationId: String, actor: String?) throws(KeyStoreError) {
        let actor = try validator.actor(actor)
        let now = self.now
        try write { connection in
            let key = try fetchKey(id: id, organizationId: organizationId, forUpdate: true, connection)
            connection.send("DELETE FROM api_key WHERE id = $1", [.text(id)])
            appendAudit(
                .keyDeleted, organizationId: organizationId, keyId: id, actor: actor,
                details: ["name": .string(key.name), "kind": .string(key.kind), "hint": .string(key.hint)],
                at: now, connection)
            insertEvent(key.event(.keyDeleted), at: now, connection)
        }
    }

    // MARK: Changes

    public func changeToken() throws(KeyStoreError) -> ChangeToken {
        do {
            return try watch.token()
        } catch {
            throw Self.storeError(error)
        }
    }

    public func changes(after: Int64, through: Int64) throws(KeyStoreError) -> ChangeSet? {
        try read { connection -> ChangeSet? in
            let oldest = try connection.query("SELECT MIN(seq) FROM change_event").int64(0, 0) ?? (through + 1)
            guard oldest <= after + 1 else { return nil }
            let rows = try connection.query(
                "SELECT organization_id, key_id, digest, erased FROM change_event WHERE seq > $1 AND seq <= $2",
                [.integer(after), .integer(through)])
            var changes = ChangeSet()
            for row in 0..<rows.count {
                let organization = rows.string(row, 0)
                if let organization { changes.organizations.insert(organization) }
                // Only the subscription table's triggers, and an erasure, log a row
                // naming no key.
                if let key = rows.string(row, 1) {
                    changes.keys.insert(key)
                } else if let organization {
                    changes.subscriptions.insert(organization)
                    if rows.bool(row, 3) == true { changes.erased.insert(organization) }
                }
                if let bytes = rows.bytes(row, 2), let digest = KeyDigest(bytes: bytes) { changes.digests.insert(digest) }
            }
            return changes
        }
    }

    // MARK: Units of work

    public func transaction<T>(_ body: (any StorageTransaction) -> T) throws(KeyStoreError) -> T? {
        if bound != nil {
            // Already inside a unit (a write group): this one nests in it.
            return try write { _ in body(PostgresTransaction(storage: self)) }
        }
        do {
            return try pool.withConnection { connection -> T? in
                do {
                    try connection.begin(lockTimeout: Self.lockTimeout)
                } catch let error as PGError where error.connectionLost {
                    return nil
                }
                let result = body(PostgresTransaction(storage: PostgresKeyStorage(self, boundTo: connection)))
                do {
                    try connection.commit()
                    watch.committed()
                } catch {
                    if connection.inTransaction { try? connection.execute("ROLLBACK") }
                    throw error
                }
                return result
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    // MARK: Shared steps

    /// The key row's own columns, as ``KeyRecord`` is read from them
    /// (``key(_:_:offset:)``, ``match(_:_:offset:)``), each after `table`'s
    /// name when one is given.
    static func keyRow(_ table: String?) -> String {
        ["id", "organization_id", "name", "kind", "capabilities", "environment", "hint", "rate_limit",
         "allowed_origins", "created_at", "expires_at", "revoked_at", "last_used_at"]
            .map { column in table.map { "\($0).\(column)" } ?? column }.joined(separator: ", ")
    }

    /// The columns every key query selects, in ``key(_:_:offset:)``'s order:
    /// the key, and its usage counts from the per-day table.
    static let keyColumns = """
        \(keyRow("k")),
        (SELECT COALESCE(SUM(valid), 0) FROM key_usage_day WHERE key_id = k.id),
        (SELECT COALESCE(SUM(invalid), 0) FROM key_usage_day WHERE key_id = k.id),
        k.last_origin, k.last_ip, \(lastUse("last_used_at")), \(lastUse("last_origin")), \(lastUse("last_ip"))
        """

    /// A column of the key's earlier secrets whose deadline is after
    /// `time` (a parameter), soonest first, as JSON rows of [hint or null,
    /// deadline in milliseconds]; NULL for none.
    static func previousSecretsColumn(time: String) -> String {
        """
        (SELECT json_agg(json_build_array(s.hint, s.expires_at) ORDER BY s.expires_at) FROM key_secret s
         WHERE s.key_id = k.id AND s.expires_at > \(time))
        """
    }

    /// What ``previousSecretsColumn(time:)`` selected in `row`.
    static func previousSecrets(_ result: PGResult, _ row: Int, column: Int) throws(KeyStoreError) -> [PreviousSecret] {
        guard let text = result.string(row, column) else { return [] }
        guard case .array(let rows)? = try? JSONParser.parse(text) else {
            throw KeyStoreError(.storageFailure, ["reason": "other", "detail": "previous secrets unreadable"])
        }
        return rows.compactMap { row in
            guard case .array(let members) = row, members.count == 2, case .number(let number) = members[1],
                  let expiresAt = Int64(number) else { return nil }
            let hint: String? = if case .string(let hint) = members[0] { hint } else { nil }
            return PreviousSecret(hint: hint, expiresAt: StorageCoding.date(expiresAt))
        }
    }

    /// A column of the key's latest day with a use.
    private static func lastUse(_ column: String) -> String {
        "(SELECT \(column) FROM key_usage_day WHERE key_id = k.id AND last_used_at IS NOT NULL ORDER BY day DESC LIMIT 1)"
    }

    static func key(_ result: PGResult, _ row: Int, offset: Int = 0) -> KeyRecord {
        func text(_ column: Int) -> String { result.string(row, offset + column) ?? "" }
        func time(_ column: Int) -> Date? { result.int64(row, offset + column).map(StorageCoding.date) }
        let lastUse = LastUse.newer(
            LastUse(at: time(12), origin: result.string(row, offset + 15), ip: result.string(row, offset + 16)),
            LastUse(at: time(17), origin: result.string(row, offset + 18), ip: result.string(row, offset + 19)))
        return KeyRecord(
            id: text(0), organizationId: text(1), name: text(2), kind: text(3),
            capabilities: StorageCoding.list(text(4)), environment: text(5), hint: text(6),
            rateLimit: result.int(row, offset + 7) ?? 0, allowedOrigins: StorageCoding.origins(text(8)),
            createdAt: time(9) ?? Date(timeIntervalSince1970: 0), expiresAt: time(10), revokedAt: time(11),
            lastUsedAt: lastUse.at, lastOrigin: lastUse.origin, lastIP: lastUse.ip,
            usage: KeyUsage(valid: result.int(row, offset + 13) ?? 0, invalid: result.int(row, offset + 14) ?? 0))
    }

    func fetchKey(id: String, organizationId: String, forUpdate: Bool = false, _ connection: PGConnection) throws
        -> KeyRecord
    {
        Self.key(try keyRow(id: id, organizationId: organizationId, forUpdate: forUpdate, connection), 0)
    }

    /// The key's row: ``keyColumns``, then the column `then` selects (its
    /// parameters `arguments`, from $3); `not_found` when there is none.
    func keyRow(id: String, organizationId: String, then column: String? = nil, _ arguments: [PGValue] = [],
                forUpdate: Bool = false, _ connection: PGConnection) throws -> PGResult
    {
        guard KeyValidator.canNameKey(id) else { throw KeyStoreError(.notFound, field: "keyId") }
        let result = try connection.query("""
            SELECT \(Self.keyColumns)\(column.map { ", " + $0 } ?? "") FROM api_key k
            WHERE k.id = $1 AND k.organization_id = $2\(forUpdate ? " FOR UPDATE" : "")
            """, [.text(id), .text(organizationId)] + arguments)
        guard result.count == 1 else { throw KeyStoreError(.notFound, field: "keyId") }
        return result
    }

    /// Serializes writes that count something of one organization (its
    /// live keys, its meters) until the transaction ends.
    func lockOrganization(_ organizationId: String, _ connection: PGConnection) {
        connection.send("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text(organizationId)])
    }

    /// Live keys (neither revoked nor expired) of some kinds: $1 the
    /// organization, $2 the time, $3 the kinds as an array.
    static let liveKeysOfKinds = """
        organization_id = $1 AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
        AND kind = ANY ($3::text[])
        """

    static func liveKeysArguments(_ organizationId: String, kinds: [String], now: Date) -> [PGValue] {
        [.text(organizationId), .integer(StorageCoding.milliseconds(now)), .text(textArray(kinds))]
    }

    /// A PostgreSQL array literal of strings, each quoted; `nil` is NULL.
    /// Byte by byte: Foundation's `replacingOccurrences`, twice for each
    /// value, took more than half of an import's client time (perf: 14 of
    /// 18 CPU seconds for 100,000 keys in fifteen arrays each).
    static func textArray(_ values: [String?]) -> String {
        var bytes: [UInt8] = [UInt8(ascii: "{")]
        bytes.reserveCapacity(values.count * 24)
        for (index, value) in values.enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            guard let value else {
                bytes += "NULL".utf8
                continue
            }
            bytes.append(UInt8(ascii: "\""))
            for byte in value.utf8 {
                if byte == UInt8(ascii: "\\") || byte == UInt8(ascii: "\"") { bytes.append(UInt8(ascii: "\\")) }
                bytes.append(byte)
            }
            bytes.append(UInt8(ascii: "\""))
        }
        bytes.append(UInt8(ascii: "}"))
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A PostgreSQL array literal of integers; `nil` is NULL.
    static func integerArray(_ values: [Int64?]) -> String {
        "{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }

    func liveKeyCount(_ organizationId: String, kinds: [String], now: Date, _ connection: PGConnection) throws -> Int {
        try connection.query("SELECT COUNT(*) FROM api_key WHERE \(Self.liveKeysOfKinds)",
                             Self.liveKeysArguments(organizationId, kinds: kinds, now: now)).int(0, 0) ?? 0
    }

    func insertSecret(_ digest: KeyDigest, keyId: String, _ connection: PGConnection) {
        connection.send("INSERT INTO key_secret (digest, key_id, expires_at) VALUES ($1, $2, NULL)",
                        [.bytes(digest.bytes), .text(keyId)])
    }

    /// Appends to the log inside the caller's transaction, so an entry exists
    /// exactly when its change does (queued: its error is the transaction's).
    func appendAudit(
        _ action: AuditAction, organizationId: String, keyId: String?, actor: String,
        details: [String: JSON], at: Date, _ connection: PGConnection
    ) {
        connection.send("""
            INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
            VALUES ($1, $2, $3, $4, $5, $6)
            """, [
            .text(organizationId), .integer(StorageCoding.milliseconds(at)), .text(actor), .text(action.rawValue),
            .of(keyId), .text(JSON.auditText(details)),
        ])
    }

    /// One transaction, or, bound to a transaction, one savepoint of it.
    func write<T>(_ body: (PGConnection) throws -> T) throws(KeyStoreError) -> T {
        do {
            if let bound {
                // An earlier command's failure may have broken the transaction.
                guard bound.inTransaction else { throw KeyStoreError(.storageFailure, ["reason": "io"]) }
                // Settled by the command's own savepoint (``PostgresTransaction/step(_:)``).
                return try bound.inSavepoint("command", settling: false) { try body(bound) }
            }
            let result = try pool.withConnection { connection in
                try connection.inTransaction(lockTimeout: Self.lockTimeout) { try body(connection) }
            }
            watch.committed()
            return result
        } catch {
            throw Self.storeError(error)
        }
    }

    /// One round trip on a pooled connection, as every read takes: the
    /// server answers, and a broken connection is replaced as a read's is.
    public func probe() throws(KeyStoreError) {
        try read { connection in _ = try connection.query("SELECT 1") }
    }

    /// A read on a pool connection (repeated once on a fresh connection if
    /// the first had broken), or, bound to a transaction, on its connection.
    /// Its round trips wait for an answer as verification's do
    /// (``AnswerTimeouts/verification``): verification reads through here.
    /// A `listing` (a page of keys, of the audit log, days of usage, the
    /// status's counts) waits as long as writes do.
    func read<T>(listing: Bool = false, _ body: (PGConnection) throws -> T) throws(KeyStoreError) -> T {
        do {
            if let bound { return try body(bound) }
            return try pool.read { connection in
                try connection.answering(within: listing ? answerTimeouts.other : answerTimeouts.verification) {
                    try body(connection)
                }
            }
        } catch {
            throw Self.storeError(error)
        }
    }

    /// A failure as the store reports it: a reason a person can act on.
    /// With `detail`, the server's own words, for start-up messages on
    /// stderr; never the connection string.
    static func storeError(_ error: any Error, detail: Bool = false) -> KeyStoreError {
        switch error {
        case let error as KeyStoreError:
            return error
        case let error as PGError:
            let reason = reason(error)
            var parameters = ["reason": reason]
            // A statement the session lacks is a setting to change (the
            // pool mode), and a failure of no known kind (a right the user
            // lacks: "permission denied for table outbox_event") is the
            // owner's to mend: the operator learns which from the log. So
            // is which wait a busy server ended ("canceling statement due
            // to lock timeout", "deadlock detected").
            // The server's first line names objects, never a value, except
            // for malformed data (class 22), which may quote what was sent.
            if detail || error.sqlState == PGError.unknownStatement || reason == "busy" || error.timedOut
                || (reason == "other" && !error.sqlState.hasPrefix("22")) {
                parameters["detail"] = error.message
            }
            return KeyStoreError(.storageFailure, parameters)
        case let error as PostgresMigrator.Refusal:
            return KeyStoreError(.storageFailure, ["reason": "other", "detail": error.description])
        default:
            return KeyStoreError(.storageFailure, ["reason": "other"])
        }
    }

    private static func reason(_ error: PGError) -> String {
        if error.connectionLost { return "unreachable" }
        switch error.sqlState {
        case "40001", "40P01", "55P03", "57014", "53300": return "busy"
        case "25006": return "read_only"
        case "53100": return "full"
        case "XX001", "XX002": return "corrupt"
        case let state where state.hasPrefix("08"): return "unreachable"
        default: return "other"
        }
    }
}
