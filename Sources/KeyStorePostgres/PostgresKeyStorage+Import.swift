import Foundation
public import KeyStore

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
