public import Foundation

/// Where keys live: the boundary the service layer depends on.
///
/// Every operation is scoped to one organization; a key id of another
/// organization behaves exactly like an id that does not exist. SQL stays
/// behind this protocol, so a PostgreSQL store can take SQLite's place.
public protocol KeyStorage: Sendable {
    /// The rules every stored key obeys.
    var rules: KeyRules { get }

    /// Creates a key and returns its secret, the only time it exists outside
    /// the caller's hands. With a `limit`, the key is created only if the
    /// organization has fewer live keys of the limit's kinds, counted in the
    /// same transaction, so concurrent creates cannot overshoot. With an
    /// ``NewKey/idempotencyKey`` its organization used for an earlier
    /// creation, nothing is created, before the limit is counted: the same
    /// creation is refused with ``KeyStoreError/Code/keyAlreadyCreated``
    /// naming the key it made, another with
    /// ``KeyStoreError/Code/idempotencyKeyReused``. Concurrent creations
    /// under one key make one key, wherever they run.
    func create(_ key: NewKey, limit: LiveKeyLimit?) throws(KeyStoreError) -> IssuedKey
    /// The refusal ``create(_:limit:)`` would give `key` for a key its
    /// ``NewKey/idempotencyKey`` made before (``KeyStoreError/Code/keyAlreadyCreated``
    /// or ``KeyStoreError/Code/idempotencyKeyReused``); `nil` when none was
    /// made under it, or `key` has none. Writes nothing: a creation refused
    /// by the plan or by this store's checks asks it, so that a retry after
    /// the plan changed, or its expiry passed, still learns of the key the
    /// first call made.
    func earlierCreation(of key: NewKey) throws(KeyStoreError) -> KeyStoreError?
    /// Moves in keys issued elsewhere, each by the key itself (hashed here,
    /// never stored) or by its SHA-256 digest, checked as a creation and,
    /// if live, counted against its organization's limit in `limits` like
    /// one, in order, each succeeding or failing on its own, in one
    /// transaction (a savepoint of the caller's). A key already here in its
    /// organization is answered as it is (`imported: false`) and nothing
    /// changes; another organization's key is refused (`key_conflict`).
    /// Throws only when the batch as a whole could not be written (then
    /// none of it was).
    func importKeys(_ keys: [ImportedKey], limits: [String: LiveKeyLimit]) throws(KeyStoreError)
        -> [Result<ImportedKeyResult, KeyStoreError>]
    func key(id: String, organizationId: String) throws(KeyStoreError) -> KeyRecord
    /// A page of keys, newest first, each with its usage counts.
    func keys(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?) throws(KeyStoreError) -> KeyPage
    func update(id: String, organizationId: String, changes: KeyChanges, actor: String?) throws(KeyStoreError) -> KeyRecord
    /// Gives the key a new secret. The previous one keeps working for
    /// `gracePeriodSeconds` (0: it stops at once). With an `idempotencyKey`
    /// its organization used for an earlier rotation, nothing is rotated,
    /// before the key is looked at: the same rotation (the same key and
    /// grace) is refused with ``KeyStoreError/Code/keyAlreadyRotated``
    /// naming the key, another with ``KeyStoreError/Code/idempotencyKeyReused``.
    /// Concurrent rotations under one idempotency key rotate once,
    /// wherever they run.
    func rotate(id: String, organizationId: String, gracePeriodSeconds: Int, actor: String?, idempotencyKey: String?)
        throws(KeyStoreError) -> IssuedKey
    /// The refusal ``rotate(id:organizationId:gracePeriodSeconds:actor:idempotencyKey:)``
    /// would give a rotation sent again under `idempotencyKey`
    /// (``KeyStoreError/Code/keyAlreadyRotated`` or ``KeyStoreError/Code/idempotencyKeyReused``);
    /// `nil` when no rotation was made under it. Writes nothing: a rotation
    /// the plan refuses asks it, so that a retry after a downgrade still
    /// learns that the first call rotated the key.
    func earlierRotation(id: String, organizationId: String, gracePeriodSeconds: Int, idempotencyKey: String)
        throws(KeyStoreError) -> KeyStoreError?
    /// The secrets rotations left working, for each of these keys that
    /// has any: those whose grace deadline is still ahead, soonest first,
    /// each with the hint of the secret it was (kept when it was rotated
    /// out). Keys unknown or without one are not in the answer. Their keys
    /// may be revoked or expired, which stops them too: the caller decides
    /// what to show. What a change's answer reads (an update's, a
    /// rotation's); reads of keys take them with the keys
    /// (``keyWithPreviousSecrets(id:organizationId:)``,
    /// ``keysWithPreviousSecrets(organizationId:filter:cursor:limit:)``).
    func previousSecrets(keyIds: [String]) throws(KeyStoreError) -> [String: [PreviousSecret]]
    /// ``key(id:organizationId:)`` with what ``previousSecrets(keyIds:)``
    /// answers for it: empty for none, and for a revoked or expired key,
    /// which they no longer open. The dashboard's read of one key, in one
    /// round trip where reads are round trips to a server (PostgreSQL
    /// reads both in one statement).
    func keyWithPreviousSecrets(id: String, organizationId: String) throws(KeyStoreError)
        -> (key: KeyRecord, previousSecrets: [PreviousSecret])
    /// ``keys(organizationId:filter:cursor:limit:)`` with what
    /// ``previousSecrets(keyIds:)`` answers for the page's keys that are
    /// neither revoked nor expired: the dashboard's list, in one round trip
    /// where reads are round trips to a server (PostgreSQL reads both in
    /// one statement).
    func keysWithPreviousSecrets(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?)
        throws(KeyStoreError) -> (page: KeyPage, previousSecrets: [String: [PreviousSecret]])
    /// Stops at once every secret rotations left working, so that only the
    /// key's current secret opens it: what a leaked earlier secret calls
    /// for, when the key itself should go on working. Refuses a revoked or
    /// expired key, as a rotation does (no secret of it works). A key with
    /// no such secret is answered as it is, and nothing is written.
    func stopPreviousSecrets(id: String, organizationId: String, actor: String?) throws(KeyStoreError) -> KeyRecord
    /// Revokes for good; the record stays. Revoking again changes nothing.
    /// `reason`, when given, is kept in the audit entry (where a scanner
    /// found the key, say).
    func revoke(id: String, organizationId: String, actor: String?, reason: String?) throws(KeyStoreError) -> KeyRecord
    /// Records in the audit log that the key's `secret` was reported leaked
    /// (found at `location`), changing nothing else.
    func flagLeaked(id: String, organizationId: String, secret: LeakedSecret, actor: String?, location: String?)
        throws(KeyStoreError)
    /// Removes the key, its secrets and its usage; the audit log keeps that it happened.
    func delete(id: String, organizationId: String, actor: String?) throws(KeyStoreError)
    /// Erases everything stored of an organization, in one transaction:
    /// its keys with their secrets and usage, its subscription and billing
    /// event ids, its meters and remembered calls, its audit log and its
    /// events. Then writes, in the same transaction, one audit entry and
    /// one event (`organization.erased`) that say it happened and how many
    /// keys went, and marks the organization changed, so that every
    /// process forgets its plan and counts before its next verification.
    /// An organization with nothing stored is erased all the same.
    func eraseOrganization(_ organizationId: String, actor: String?) throws(KeyStoreError) -> OrganizationErasure
    /// The key a secret belongs to, checked for shape and checksum first.
    func find(secret: String) throws(KeyStoreError) -> KeyLookup
    /// The key whose secret has this digest (the secret already parsed):
    /// verification's cache miss, which must stay a cheap point read. The
    /// record's usage counts need not be read (they may be zero). A store
    /// whose ``rateLimits`` reserve cells from a server may take the key's
    /// first reservation in the same round trip (PostgreSQL does), as the
    /// verification that follows will ask for it.
    func find(digest: KeyDigest) throws(KeyStoreError) -> KeyLookup
    /// ``find(digest:)`` for several digests, in their order. Verification
    /// asks for the keys of a pipelined read it does not hold, together,
    /// where ``looksUpTogether``; by default, one look-up each.
    func find(digests: [KeyDigest]) throws(KeyStoreError) -> [KeyLookup]
    /// Whether ``find(digests:)`` costs less than a ``find(digest:)`` for
    /// each (a server's round trip for all of them rather than one each).
    /// Not on SQLite, whose look-up is local work either way.
    var looksUpTogether: Bool { get }
    /// Rate-limit state every process using this store shares, so each
    /// key's limit holds once across them; `nil` when there is none (an
    /// in-memory store), and then each process keeps its own.
    var rateLimits: (any SharedRateLimits)? { get }
    /// What keeps this store from working as well as it should, now (a
    /// PostgreSQL listener that went down shows at once, and no longer
    /// once it is back): empty when nothing does. Cheap enough for a
    /// health check, never per request.
    var shortcomings: [StoreShortcoming] { get }
    /// Reads the database the way requests do, the least that proves it
    /// answers (a health check times it); throws what such a request
    /// would (``KeyStoreError/Code/storageFailure`` with its `reason`).
    func probe() throws(KeyStoreError)
    /// Forgets the shared rate-limit state of keys that have had their
    /// whole allowance since before `before` (microseconds since 1970), as
    /// a key never verified has: what ``rateLimits`` admits stays the
    /// same, and state of deleted keys and keys no longer used does not
    /// pile up. A store whose state has a fixed size (SQLite's table
    /// beside the database reuses the slots of quiet keys) has nothing to
    /// forget.
    ///
    /// One step of a pass over the state in order: up to `entries` entries
    /// after `cursor` (`nil`: from the first). Any number of processes may
    /// run passes at once, and verifications go on meanwhile: an entry
    /// in use is left for the next pass.
    func forgetIdleRateLimits(before: Int64, after cursor: Int64?, entries: Int) throws(KeyStoreError) -> RateLimitSweep
    /// Changes whenever anything is committed, here or in another process;
    /// what callers keep in memory is current as long as it stays the same.
    func changeToken() throws(KeyStoreError) -> ChangeToken
    /// What changed after the change token part `after` up to `through`;
    /// `nil` when the log no longer reaches back that far (start over).
    func changes(after: Int64, through: Int64) throws(KeyStoreError) -> ChangeSet?
    /// Adds verification counts and last-use details, skipping deleted keys.
    func recordUsage(_ increments: [UsageIncrement]) throws(KeyStoreError)
    /// Verification counts per UTC day from `from` to `to` (inclusive), for
    /// one key or, summed, for all keys of the organization.
    func usageDays(organizationId: String, keyId: String?, from: Date, to: Date) throws(KeyStoreError) -> [UsageDay]
    /// Folds keys' usage of the UTC days before `before`'s into one row
    /// a key that keeps their totals and last use, so a key's `usage` and
    /// `lastUsedAt` answer as before, and deletes those days with their
    /// breakdowns: ``usageDays(organizationId:keyId:from:to:)`` no longer
    /// has them. What a retention of daily usage keeps.
    ///
    /// One step of a pass over the keys in order: up to `keys` keys after
    /// `cursor` (`nil`: from the first), in one transaction. A key is
    /// folded only when its oldest day not folded yet is before `due`, so
    /// that a key's rows, which lie together, are rewritten once in a
    /// while for many days rather than each day for one. Any number of
    /// processes may run passes at once, and counts flushed late for a
    /// folded day are folded by a later pass, each counted once.
    func foldUsage(before: Date, due: Date, after cursor: String?, keys: Int) throws(KeyStoreError) -> UsageFold
    /// The organization's audit log, newest first: all of it, or one key's
    /// entries (`keyId`; a deleted key's remain, an id that names no key
    /// has none).
    func auditLog(organizationId: String, keyId: String?, cursor: String?, limit: Int?) throws(KeyStoreError) -> AuditPage
    /// Deletes the audit entries written before `before`, every
    /// organization's, oldest first: what a retention of the audit log
    /// keeps. Entries are written in about the order of their times, so a
    /// pass stops at the first entry written since `before` instead of
    /// reading the whole log: one written out of order (another host's
    /// clock behind) waits for a later pass, and no entry written since
    /// `before` is ever deleted.
    ///
    /// One step of a pass: up to `entries` entries after the entry
    /// `cursor` (`nil`: from the oldest), in one transaction. Any number
    /// of processes may run passes at once.
    func pruneAudit(before: Date, after cursor: Int64?, entries: Int) throws(KeyStoreError) -> AuditPruning
    /// Writes an event in the caller's transaction (or one of its own);
    /// an event whose `once` key was used before writes nothing. The store
    /// writes the events of key changes itself; this is for the service's
    /// (a plan change's suspended keys).
    func appendEvent(_ event: NewEvent) throws(KeyStoreError)
    /// Events after `cursor` in the order they were committed, of one
    /// organization or of all, of the given types or of all (`nil`): what
    /// an outbox consumer polls. A page of some types reads at most
    /// ``EventPage/readBound`` events past its cursor (``EventScan``).
    func events(organizationId: String?, types: Set<EventType>?, after cursor: String?, limit: Int?) throws(KeyStoreError)
        -> EventPage
    /// Writes the time-based events due now (a live key expiring within
    /// the notice, a key expired), each once, and deletes events older
    /// than the retention. Every process may run it at once; returns how
    /// many events it wrote.
    @discardableResult
    func sweepEvents(_ schedule: EventSchedule) throws(KeyStoreError) -> Int
    /// Runs `body` as one unit of work: one write transaction, committed
    /// when `body` returns. Its commands run through
    /// ``StorageTransaction/step(_:)``, each on a storage bound to the
    /// transaction, so each sees the writes of the commands before it and
    /// succeeds or fails on its own. Returns `nil`, without running `body`,
    /// when no transaction could begin (the database stayed locked); throws
    /// when `body` ran but the transaction could not be committed, in which
    /// case none of it was kept. On a storage already bound to a
    /// transaction, the unit is a savepoint of it, its commands savepoints
    /// within, and it is kept when the enclosing transaction is.
    func transaction<T>(_ body: (any StorageTransaction) -> T) throws(KeyStoreError) -> T?
}

extension KeyStorage {
    /// The organization's whole audit log, newest first
    /// (``auditLog(organizationId:keyId:cursor:limit:)``).
    public func auditLog(organizationId: String, cursor: String?, limit: Int?) throws(KeyStoreError) -> AuditPage {
        try auditLog(organizationId: organizationId, keyId: nil, cursor: cursor, limit: limit)
    }

    /// Events of every type after `cursor` (``events(organizationId:types:after:limit:)``).
    public func events(organizationId: String?, after cursor: String?, limit: Int?) throws(KeyStoreError) -> EventPage {
        try events(organizationId: organizationId, types: nil, after: cursor, limit: limit)
    }

    /// A rotation under no idempotency key: each call rotates.
    public func rotate(id: String, organizationId: String, gracePeriodSeconds: Int, actor: String?)
        throws(KeyStoreError) -> IssuedKey
    {
        try rotate(id: id, organizationId: organizationId, gracePeriodSeconds: gracePeriodSeconds, actor: actor,
                   idempotencyKey: nil)
    }

    public func find(digests: [KeyDigest]) throws(KeyStoreError) -> [KeyLookup] {
        try digests.map { digest throws(KeyStoreError) in try find(digest: digest) }
    }

    public var looksUpTogether: Bool { false }

    /// One key of ``importKeys(_:limits:)``, under `limit`.
    public func importKey(_ key: ImportedKey, limit: LiveKeyLimit?) throws(KeyStoreError) -> ImportedKeyResult {
        let results = try importKeys([key], limits: limit.map { [key.organizationId: $0] } ?? [:])
        return try results[0].get()
    }

    public func create(_ key: NewKey) throws(KeyStoreError) -> IssuedKey {
        try create(key, limit: nil)
    }

    public func revoke(id: String, organizationId: String, actor: String?) throws(KeyStoreError) -> KeyRecord {
        try revoke(id: id, organizationId: organizationId, actor: actor, reason: nil)
    }
}

/// A write transaction in progress, passed down explicitly to the commands
/// that make it up.
public protocol StorageTransaction {
    /// Runs one command on a storage bound to this transaction, in a
    /// savepoint: its writes are kept only if it returns, and whatever it
    /// throws is thrown again after they were taken back.
    func step<T>(_ command: (any KeygateStorage) throws -> T) throws -> T
}

/// At most `maximum` live keys (neither revoked nor expired) of these kinds.
public struct LiveKeyLimit: Sendable, Hashable {
    public var maximum: Int
    public var kinds: [String]

    public init(maximum: Int, kinds: [String]) {
        self.maximum = maximum
        self.kinds = kinds
    }
}

/// What a secret turned out to be.
public enum KeyLookup: Sendable {
    /// Not a key of this product at all; no storage was touched.
    case malformed(KeyFormatError)
    /// Well-formed but unknown: never issued, deleted, or a rotated-out
    /// secret past its grace deadline.
    case notFound
    case found(KeyMatch)

    /// `secret`'s look-up by its digest through `find`, or ``malformed(_:)``
    /// without `find` when it is not a key of `format`: how each store
    /// answers ``KeyStorage/find(secret:)``.
    package static func of(_ secret: String, in format: KeyFormat,
                           _ find: (KeyDigest) throws(KeyStoreError) -> KeyLookup) throws(KeyStoreError) -> KeyLookup {
        let digest: KeyDigest
        do {
            digest = try format.parse(secret).digest
        } catch {
            return .malformed(error)
        }
        return try find(digest)
    }
}
