import Foundation
public import KeyStore
import KeygateJSON

extension PostgresKeyStorage {
    /// A batch in a few statements rather than a dozen round trips per key
    /// (about 850 keys a second that way): the organizations locked, the
    /// digests' owners and the live counts read at once, every key decided
    /// in order (``ImportBatch``), and what is new
    /// written with one statement per table.
    public func importKeys(_ keys: [ImportedKey], limits: [String: LiveKeyLimit]) throws(KeyStoreError)
        -> [Result<ImportedKeyResult, KeyStoreError>]
    {
        let now = self.now
        var batch = ImportBatch(keys, validator: validator, now: now)
        guard !batch.checked.isEmpty else { return batch.answers }
        let organizations = batch.organizations
        let digests = Self.textArray(batch.checked.map { Self.hex($0.key.digest.bytes) })
        return try write { connection in
            // In one order, so two hosts importing for the same organizations wait rather than deadlock.
            connection.send("""
                SELECT pg_advisory_xact_lock(hashtextextended(o, 0)) FROM unnest($1::text[]) AS o ORDER BY o
                """, [.text(Self.textArray(organizations))])
            connection.send("""
                DELETE FROM key_secret WHERE digest IN (SELECT decode(d, 'hex') FROM unnest($1::text[]) AS d) AND expires_at <= $2
                """, [.text(digests), .integer(StorageCoding.milliseconds(now))])
            let owners = try connection.query("""
                SELECT encode(s.digest, 'hex'), \(Self.keyColumns)
                FROM key_secret s JOIN api_key k ON k.id = s.key_id
                WHERE s.digest IN (SELECT decode(d, 'hex') FROM unnest($1::text[]) AS d)
                """, [.text(digests)])
            var owned: [KeyDigest: KeyRecord] = [:]
            for row in 0..<owners.count {
                if let digest = KeyValidator.sha256(owners.string(row, 0) ?? "") { owned[digest] = Self.key(owners, row, offset: 1) }
            }
            let counts = try connection.query("""
                SELECT organization_id, kind, COUNT(*) FROM api_key
                WHERE organization_id = ANY ($1::text[]) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
                GROUP BY organization_id, kind
                """, [.text(Self.textArray(organizations)), .integer(StorageCoding.milliseconds(now))])
            let live = ImportBatch.live((0..<counts.count).map {
                (counts.string($0, 0) ?? "", counts.string($0, 1) ?? "", counts.int($0, 2) ?? 0)
            }, limits: limits)
            let new = batch.decide(owners: owned, live: live, limits: limits, now: now)
            if !new.isEmpty { insert(new, at: now, connection) }
            return batch.answers
        }
    }

    /// Writes imported keys, their secrets, audit entries and events, one
    /// statement each, queued to go with the commit.
    private func insert(_ keys: [CheckedImport], at now: Date, _ connection: PGConnection) {
        let records = keys.map(\.record)
        connection.send("""
            INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint,
                                 rate_limit, allowed_origins, created_at, expires_at, last_used_at)
            SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                                 $8::integer[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[])
            """, [
            .text(Self.textArray(records.map(\.id))), .text(Self.textArray(records.map(\.organizationId))),
            .text(Self.textArray(records.map(\.name))), .text(Self.textArray(records.map(\.kind))),
            .text(Self.textArray(records.map { StorageCoding.list($0.capabilities) })),
            .text(Self.textArray(records.map(\.environment))), .text(Self.textArray(records.map(\.hint))),
            .text(Self.integerArray(records.map { Int64($0.rateLimit) })),
            .text(Self.textArray(records.map { StorageCoding.list($0.allowedOrigins) })),
            .text(Self.integerArray(records.map { StorageCoding.milliseconds($0.createdAt) })),
            .text(Self.integerArray(records.map { $0.expiresAt.map(StorageCoding.milliseconds) })),
            .text(Self.integerArray(records.map { $0.lastUsedAt.map(StorageCoding.milliseconds) })),
        ])
        connection.send("""
            INSERT INTO key_secret (digest, key_id, expires_at)
            SELECT decode(d, 'hex'), k, NULL FROM unnest($1::text[], $2::text[]) AS x (d, k)
            """, [.text(Self.textArray(keys.map { Self.hex($0.digest.bytes) })), .text(Self.textArray(records.map(\.id)))])
        connection.send("""
            INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
            SELECT o, $2, a, $3, k, d FROM unnest($1::text[], $4::text[], $5::text[], $6::text[]) AS x (o, a, k, d)
            """, [
            .text(Self.textArray(records.map(\.organizationId))), .integer(StorageCoding.milliseconds(now)),
            .text(AuditAction.keyImported.rawValue), .text(Self.textArray(keys.map(\.actor))),
            .text(Self.textArray(records.map(\.id))), .text(Self.textArray(keys.map { JSON.auditText($0.auditDetails) })),
        ])
        // Positions for all of them at once, from the head row held to the commit.
        let events = keys.map { $0.record.event(.keyImported, ["source": .string($0.source)]) }
        connection.send("""
            WITH head AS (UPDATE outbox_head SET position = position + $1 WHERE id = 1 RETURNING position)
            INSERT INTO outbox_event (seq, id, organization_id, type, at, key_id, data)
            SELECT head.position - $1 + x.n, x.id, x.o, $2, $3, x.k, x.d
            FROM head, unnest($4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS x (id, o, k, d, n)
            """, [
            .of(events.count), .text(EventType.keyImported.rawValue), .integer(StorageCoding.milliseconds(now)),
            .text(Self.textArray(events.map { _ in NewEvent.newId(at: now) })),
            .text(Self.textArray(events.map(\.organizationId))), .text(Self.textArray(events.map(\.keyId))),
            .text(Self.textArray(events.map { JSON.auditText($0.data) })),
        ])
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var text: [UInt8] = []
        text.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            text.append(digits[Int(byte >> 4)])
            text.append(digits[Int(byte & 0x0F)])
        }
        return String(decoding: text, as: UTF8.self)
    }
}
