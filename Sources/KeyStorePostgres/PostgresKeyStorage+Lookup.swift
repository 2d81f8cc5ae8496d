import Foundation
public import KeyStore

/// Verification's look-ups: a key memory lacks, by its digest, in one
/// prepared statement on a held connection, or the misses of one pipelined
/// read together; each taking the key's first rate-limit reservation.
extension PostgresKeyStorage {
    public func find(secret: String) throws(KeyStoreError) -> KeyLookup {
        try KeyLookup.of(secret, in: rules.format) { digest throws(KeyStoreError) in try lookUp(digest, reserving: false) }
    }

    /// One prepared statement on a held connection: verification's miss.
    /// Outside a unit of work it also takes a live key's first rate-limit
    /// reservation on this process, sized as ``PostgresRateLimits`` sizes a
    /// first one for the key's own limit, so the verification that follows
    /// admits without a second round trip; inside one, a reservation would
    /// go back with a rollback after its cells were handed out, so there it
    /// takes none. (``find(secret:)``, for the other look-ups, never does.)
    public func find(digest: KeyDigest) throws(KeyStoreError) -> KeyLookup {
        try lookUp(digest, reserving: bound == nil)
    }

    public var looksUpTogether: Bool { true }

    /// Verification's misses of one pipelined read, in one statement: one
    /// round trip for all of them instead of one each. As
    /// ``find(digest:)`` for each, the first reservations included, taken
    /// in the order of the keys' tags, as every statement that reserves
    /// several keys takes them, so that two hosts cannot deadlock.
    public func find(digests: [KeyDigest]) throws(KeyStoreError) -> [KeyLookup] {
        // A digest asked for twice is read, and reserved for, once.
        var places: [KeyDigest: Int] = [:]
        var unique: [KeyDigest] = []
        for digest in digests where places[digest] == nil {
            places[digest] = unique.count
            unique.append(digest)
        }
        guard unique.count > 1 else { return try digests.map { digest throws(KeyStoreError) in try find(digest: digest) } }
        let hex = PGValue.text(Self.textArray(unique.map { Self.hex($0.bytes) }))
        let read = try readKeys(reserving: bound == nil, plain: (Self.findAll, [hex]), reserving: (Self.findAllReserving, [hex]))
        var lookups = [KeyLookup](repeating: .notFound, count: unique.count)
        for row in 0..<read.result.count {
            guard let index = read.result.int(row, 0), lookups.indices.contains(index - 1) else { continue }
            lookups[index - 1] = match(read, row, offset: 1)
        }
        return digests.map { lookups[places[$0]!] }
    }

    /// One key by its digest, with its first reservation when `reserving`.
    private func lookUp(_ digest: KeyDigest, reserving: Bool) throws(KeyStoreError) -> KeyLookup {
        let bytes = PGValue.bytes(digest.bytes)
        let read = try readKeys(reserving: reserving, plain: (Self.find, [bytes]), reserving: (Self.findReserving, [bytes]))
        guard read.result.count == 1 else { return .notFound }
        return match(read, 0, offset: 0)
    }

    /// What a look-up read, and when: whether it took reservations, its
    /// time in the store's milliseconds and in GCRA's microseconds.
    private struct KeysRead {
        let result: PGResult
        let reserved: Bool
        let now: Int64
        let at: Int64
    }

    /// Runs a look-up, the statement that also takes the keys' first
    /// reservations (its time as `$2` and `$3`) when `reserving`. A server
    /// that answers but will not reserve (it refuses writes, say) gets the
    /// plain read: the key is still read, and its verification's own
    /// reservation meets the outage setting, as before reads took one.
    private func readKeys(reserving: Bool, plain: (sql: String, parameters: [PGValue]),
                          reserving reservingRead: (sql: String, parameters: [PGValue])) throws(KeyStoreError) -> KeysRead {
        let date = self.now
        let now = StorageCoding.milliseconds(date)
        let at = GCRA.microseconds(date)
        let (result, reserved) = try read { connection -> (PGResult, Bool) in
            guard reserving else { return (try connection.query(plain.sql, plain.parameters), false) }
            do {
                return (try connection.query(reservingRead.sql, reservingRead.parameters + [.integer(now), .integer(at)]), true)
            } catch let error as PGError where !error.connectionLost && !error.timedOut {
                // A server that did not answer in time is not asked again.
                return (try connection.query(plain.sql, plain.parameters), false)
            }
        }
        return KeysRead(result: result, reserved: reserved, now: now, at: at)
    }

    /// A key read by ``lookUpColumns`` (from `offset` on), its reservation
    /// deposited if the read took one.
    private func match(_ read: KeysRead, _ row: Int, offset: Int) -> KeyLookup {
        let (result, now, at) = (read.result, read.now, read.at)
        func time(_ column: Int) -> Date? { result.int64(row, offset + column).map(StorageCoding.date) }
        func text(_ column: Int) -> String { result.string(row, offset + column) ?? "" }
        let key = KeyRecord(
            id: text(1), organizationId: text(2), name: text(3), kind: text(4),
            capabilities: StorageCoding.list(text(5)), environment: text(6), hint: text(7),
            rateLimit: result.int(row, offset + 8) ?? 0, allowedOrigins: StorageCoding.origins(text(9)),
            createdAt: time(10) ?? Date(timeIntervalSince1970: 0), expiresAt: time(11), revokedAt: time(12),
            lastUsedAt: time(13), usage: KeyUsage())
        if read.reserved, let granted = result.int(row, offset + 14), key.rateLimit > 0 {
            reservations.deposit(RateTag.of(keyId: key.id), granted: granted, arrival: result.int64(row, offset + 15) ?? at,
                                 interval: GCRA.minute / Int64(key.rateLimit), at: at)
        }
        let secretExpiresAt = result.int64(row, offset)
        if let secretExpiresAt, secretExpiresAt <= now { return .notFound }
        return .found(KeyMatch(key: key, secretExpiresAt: secretExpiresAt.map(StorageCoding.date)))
    }

    /// The columns verification uses, as SQLite's reader reads them (no
    /// usage sums, no last use from the days' rows).
    private static let lookUpColumns = "s.expires_at, " + keyRow("k")
    private static let find = """
        SELECT \(lookUpColumns)
        FROM key_secret s JOIN api_key k ON k.id = s.key_id
        WHERE s.digest = $1
        """
    /// ``find`` taking the key's first reservation, if it can be admitted.
    private static let findReserving = reservingRead(keys: """
        SELECT 1, \(lookUpColumns)
        FROM key_secret s JOIN api_key k ON k.id = s.key_id
        WHERE s.digest = $1
        """, leading: "")
    /// ``find`` for several digests (hex, `$1`), each row led by its digest's place.
    private static let findAll = """
        SELECT d.n, \(lookUpColumns)
        FROM unnest($1::text[]) WITH ORDINALITY AS d (hex, n)
        JOIN key_secret s ON s.digest = decode(d.hex, 'hex') JOIN api_key k ON k.id = s.key_id
        """
    /// ``findReserving`` for several digests.
    private static let findAllReserving = reservingRead(keys: findAll, leading: "f.n, ")

    /// A look-up that also takes each key's first reservation: a few cells,
    /// as many as a busy key's first second may use, taken at `$3`
    /// (microseconds) for a key that can be admitted at `$2` (milliseconds:
    /// not revoked, expired, or a secret past its grace). `keys` selects a
    /// place and the ``lookUpColumns``; the rows come back as it selects
    /// them (each led by `leading`), then the reservation's `granted` and
    /// `arrival`. A key reached by two of the digests (two secrets of one
    /// key, or ids whose tags collide) is reserved for once, for the first
    /// of its rows; the others come without a reservation.
    private static func reservingRead(keys: String, leading: String) -> String {
        """
        WITH keys AS MATERIALIZED (
            SELECT x.*, x.admissible AND row_number() OVER (PARTITION BY x.tag, x.admissible ORDER BY x.n) = 1 AS reserves
            FROM (
                SELECT y.*, keygate_tag(y.id) AS tag,
                       y.revoked_at IS NULL AND (y.expires_at IS NULL OR y.expires_at > $2)
                           AND (y.secret_expires_at IS NULL OR y.secret_expires_at > $2) AS admissible
                FROM (\(keys)) AS y (n, secret_expires_at, \(keyRow(nil)))
            ) x
        ), reserved AS (
            \(PostgresRateLimits.reserving("""
                SELECT tag, $3::bigint, \(GCRA.minute) / rate_limit, LEAST(4, GREATEST(1, rate_limit / 30)), 0
                FROM keys WHERE reserves
                """, need: "1"))
        )
        SELECT \(leading)f.secret_expires_at, \(keyRow("f")),
               l.granted, l.arrival
        FROM keys f LEFT JOIN reserved l ON f.reserves AND l.tag = f.tag
        """
    }
}
