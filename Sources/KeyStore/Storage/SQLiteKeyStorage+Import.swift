import Foundation
import GRDB

extension SQLiteKeyStorage {
    public func importKey(_ request: ImportedKey, limit: LiveKeyLimit?) throws(KeyStoreError) -> ImportedKeyResult {
        let now = self.now
        let checked = try validator.importedKey(request, now: now)
        let record = checked.record
        let nowMilliseconds = StorageCoding.milliseconds(now)
        return try write { db in
            let digest = Data(checked.digest.bytes)
            // A rotated-out secret past its grace is dead weight, not a key.
            try db.cachedStatement(sql: "DELETE FROM key_secret WHERE digest = ? AND expires_at <= ?")
                .execute(arguments: [digest, nowMilliseconds])
            if let owner = try Row.fetchOne(
                db.cachedStatement(sql: "SELECT k.id, k.organization_id FROM key_secret s JOIN api_key k ON k.id = s.key_id WHERE s.digest = ?"),
                arguments: [digest])
            {
                guard owner["organization_id"] == record.organizationId else {
                    throw KeyStoreError(.keyConflict, field: checked.source)
                }
                return ImportedKeyResult(key: try fetchKey(id: owner["id"], organizationId: record.organizationId, db),
                                         imported: false)
            }
            if let limit, record.state(at: now) == .live,
                try liveKeyCount(record.organizationId, kinds: limit.kinds, now: now, db) >= limit.maximum
            {
                throw KeyStoreError(.keyLimitReached, ["limit": "\(limit.maximum)"])
            }
            try db.cachedStatement(sql: """
                    INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint,
                                         rate_limit, allowed_origins, created_at, expires_at, last_used_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [
                    record.id, record.organizationId, record.name, record.kind, StorageCoding.list(record.capabilities),
                    record.environment, record.hint, record.rateLimit, StorageCoding.list(record.allowedOrigins),
                    StorageCoding.milliseconds(record.createdAt), record.expiresAt.map(StorageCoding.milliseconds),
                    record.lastUsedAt.map(StorageCoding.milliseconds),
                ])
            try insertSecret(checked.digest, keyId: record.id, db)
            try appendAudit(.keyImported, organizationId: record.organizationId, keyId: record.id, actor: checked.actor,
                            details: checked.auditDetails, at: now, db)
            try insertEvent(record.event(.keyImported, ["source": .string(checked.source)]), at: now, db)
            return ImportedKeyResult(key: record, imported: true)
        }
    }
}
