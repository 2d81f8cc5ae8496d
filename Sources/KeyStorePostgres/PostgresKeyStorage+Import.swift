import Foundation
public import KeyStore
import KeygateJSON

extension PostgresKeyStorage {
    public func importKey(_ request: ImportedKey, limit: LiveKeyLimit?) throws(KeyStoreError) -> ImportedKeyResult {
        let now = self.now
        let checked = try validator.importedKey(request, now: now)
        let record = checked.record
        return try write { connection in
            // Imports and creations for one organization take turns, so two
            // hosts cannot both see one slot left (or one key absent).
            try lockOrganization(record.organizationId, connection)
            let digest = PGValue.bytes(checked.digest.bytes)
            // A rotated-out secret past its grace is dead weight, not a key.
            try connection.query("DELETE FROM key_secret WHERE digest = $1 AND expires_at <= $2",
                                 [digest, .integer(StorageCoding.milliseconds(now))])
            let owner = try connection.query(
                "SELECT k.id, k.organization_id FROM key_secret s JOIN api_key k ON k.id = s.key_id WHERE s.digest = $1",
                [digest])
            if owner.count > 0 {
                guard owner.string(0, 1) == record.organizationId else {
                    throw KeyStoreError(.keyConflict, field: checked.source)
                }
                return ImportedKeyResult(
                    key: try fetchKey(id: owner.string(0, 0) ?? "", organizationId: record.organizationId, connection),
                    imported: false)
            }
            if let limit, record.state(at: now) == .live,
                try liveKeyCount(record.organizationId, kinds: limit.kinds, now: now, connection) >= limit.maximum
            {
                throw KeyStoreError(.keyLimitReached, ["limit": "\(limit.maximum)"])
            }
            try connection.query("""
                INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint,
                                     rate_limit, allowed_origins, created_at, expires_at, last_used_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                """, [
                .text(record.id), .text(record.organizationId), .text(record.name), .text(record.kind),
                .text(StorageCoding.list(record.capabilities)), .text(record.environment), .text(record.hint),
                .of(record.rateLimit), .text(StorageCoding.list(record.allowedOrigins)),
                .integer(StorageCoding.milliseconds(record.createdAt)),
                .of(record.expiresAt.map(StorageCoding.milliseconds)), .of(record.lastUsedAt.map(StorageCoding.milliseconds)),
            ])
            try insertSecret(checked.digest, keyId: record.id, connection)
            try appendAudit(.keyImported, organizationId: record.organizationId, keyId: record.id, actor: checked.actor,
                            details: checked.auditDetails, at: now, connection)
            try insertEvent(record.event(.keyImported, ["source": .string(checked.source)]), at: now, connection)
            return ImportedKeyResult(key: record, imported: true)
        }
    }
}

extension PostgresKeyStorage {
    /// A batch in a few statements rather than a dozen round trips per key
    /// (about 850 keys a second that way): the organizations locked, the
    /// digests' owners and the live counts read at once, every key decided
    /// here in order as ``importKey(_:limit:)`` would, and what is new
    /// written with one statement per table.
    public func importKeys(_ keys: [ImportedKey], limits: [String: LiveKeyLimit]) throws(KeyStoreError)
        -> [Result<ImportedKeyResult, KeyStoreError>]
    {
        let now = self.now
        var results: [Result<ImportedKeyResult, KeyStoreError>?] = keys.map { _ in nil }
        var checked: [(index: Int, key: CheckedImport)] = []
        for (index, key) in keys.enumerated() {
            do throws(KeyStoreError) {
                checked.append((index, try validator.importedKey(key, now: now)))
            } catch {
                results[index] = .failure(error)
            }
        }
        guard !checked.isEmpty else { return results.map { $0! } }
        let organizations = Array(Set(checked.map(\.key.record.organizationId))).sorted()
        let digests = checked.map { Self.hex($0.key.digest.bytes) }
        return try write { connection in
            // In one order, so two hosts importing for the same organizations wait rather than deadlock.
            try connection.query("""
                SELECT pg_advisory_xact_lock(hashtextextended(o, 0)) FROM unnest($1::text[]) AS o ORDER BY o
                """, [.text(Self.textArray(organizations))])
            try connection.query("""
                DELETE FROM key_secret WHERE digest IN (SELECT decode(d, 'hex') FROM unnest($1::text[]) AS d) AND expires_at <= $2
                """, [.text(Self.textArray(digests)), .integer(StorageCoding.milliseconds(now))])
            let owners = try connection.query("""
                SELECT encode(s.digest, 'hex'), \(Self.keyColumns)
                FROM key_secret s JOIN api_key k ON k.id = s.key_id
                WHERE s.digest IN (SELECT decode(d, 'hex') FROM unnest($1::text[]) AS d)
                """, [.text(Self.textArray(digests))])
            var owned: [String: KeyRecord] = [:]
            for row in 0..<owners.count { owned[owners.string(row, 0) ?? ""] = Self.key(owners, row, offset: 1) }
            let counts = try connection.query("""
                SELECT organization_id, kind, COUNT(*) FROM api_key
                WHERE organization_id = ANY ($1::text[]) AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > $2)
                GROUP BY organization_id, kind
                """, [.text(Self.textArray(organizations)), .integer(StorageCoding.milliseconds(now))])
            var live: [String: Int] = [:]
            for row in 0..<counts.count {
                let organization = counts.string(row, 0) ?? ""
                if limits[organization]?.kinds.contains(counts.string(row, 1) ?? "") == true {
                    live[organization, default: 0] += counts.int(row, 2) ?? 0
                }
            }
            // Decided in order, as one import after another would be.
            var new: [CheckedImport] = []
            for (index, key) in checked {
                let record = key.record
                let digest = Self.hex(key.digest.bytes)
                if let owner = owned[digest] {
                    results[index] = owner.organizationId == record.organizationId
                        ? .success(ImportedKeyResult(key: owner, imported: false))
                        : .failure(KeyStoreError(.keyConflict, field: key.source))
                    continue
                }
                if let limit = limits[record.organizationId], limit.kinds.contains(record.kind), record.state(at: now) == .live {
                    guard live[record.organizationId, default: 0] < limit.maximum else {
                        results[index] = .failure(KeyStoreError(.keyLimitReached, ["limit": "\(limit.maximum)"]))
                        continue
                    }
                    live[record.organizationId, default: 0] += 1
                }
                owned[digest] = record
                new.append(key)
                results[index] = .success(ImportedKeyResult(key: record, imported: true))
            }
            if !new.isEmpty { try insert(new, at: now, connection) }
            return results.map { $0! }
        }
    }

    /// Writes imported keys, their secrets, audit entries and events, one statement each.
    private func insert(_ keys: [CheckedImport], at now: Date, _ connection: PGConnection) throws {
        let records = keys.map(\.record)
        try connection.query("""
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
            .text(Self.optionalIntegerArray(records.map { $0.expiresAt.map(StorageCoding.milliseconds) })),
            .text(Self.optionalIntegerArray(records.map { $0.lastUsedAt.map(StorageCoding.milliseconds) })),
        ])
        try connection.query("""
            INSERT INTO key_secret (digest, key_id, expires_at)
            SELECT decode(d, 'hex'), k, NULL FROM unnest($1::text[], $2::text[]) AS x (d, k)
            """, [.text(Self.textArray(keys.map { Self.hex($0.digest.bytes) })), .text(Self.textArray(records.map(\.id)))])
        try connection.query("""
            INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
            SELECT o, $2, a, $3, k, d FROM unnest($1::text[], $4::text[], $5::text[], $6::text[]) AS x (o, a, k, d)
            """, [
            .text(Self.textArray(records.map(\.organizationId))), .integer(StorageCoding.milliseconds(now)),
            .text(AuditAction.keyImported.rawValue), .text(Self.textArray(keys.map(\.actor))),
            .text(Self.textArray(records.map(\.id))), .text(Self.textArray(keys.map { JSON.auditText($0.auditDetails) })),
        ])
        // Positions for all of them at once, from the head row held to the commit.
        let events = keys.map { $0.record.event(.keyImported, ["source": .string($0.source)]) }
        try connection.query("""
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

    /// A PostgreSQL array literal of integers, `NULL` for `nil`.
    static func optionalIntegerArray(_ values: [Int64?]) -> String {
        "{" + values.map { $0.map(String.init) ?? "NULL" }.joined(separator: ",") + "}"
    }
}
