import Foundation
import GRDB

extension SQLiteKeyStorage {
    /// A batch decided in memory key by key (``ImportBatch``, as the
    /// PostgreSQL store does), then
    /// written in one transaction with no savepoint per key: nested savepoints
    /// each keep a sub-journal, which made a key's import half again as dear.
    public func importKeys(_ keys: [ImportedKey], limits: [String: LiveKeyLimit]) throws(KeyStoreError)
        -> [Result<ImportedKeyResult, KeyStoreError>]
    {
        let now = self.now
        var batch = ImportBatch(keys, validator: validator, now: now)
        guard !batch.checked.isEmpty else { return batch.answers }
        let organizations = batch.organizations
        let nowMilliseconds = StorageCoding.milliseconds(now)
        return try write { db in
            // One writer at a time: what is read here stays true until the commit.
            let deleteStale = try db.cachedStatement(sql: "DELETE FROM key_secret WHERE digest = ? AND expires_at <= ?")
            let owner = try db.cachedStatement(sql: """
                SELECT \(StorageCoding.keyColumns) FROM key_secret s JOIN api_key k ON \(StorageCoding.secretsKeyRow) WHERE s.digest = ?
                """)
            var owned: [KeyDigest: KeyRecord] = [:]
            for (_, key) in batch.checked {
                let digest = Data(key.digest.bytes)
                try deleteStale.execute(arguments: [digest, nowMilliseconds])
                if let row = try Row.fetchOne(owner, arguments: [digest]) { owned[key.digest] = StorageCoding.key(row) }
            }
            let counts = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT organization_id, kind, COUNT(*) AS live FROM api_key
                    WHERE organization_id IN (SELECT value FROM json_each(?)) AND revoked_at IS NULL
                      AND (expires_at IS NULL OR expires_at > ?)
                    GROUP BY organization_id, kind
                    """), arguments: [StorageCoding.jsonArray(organizations), nowMilliseconds])
            let live = ImportBatch.live(counts.map { ($0["organization_id"], $0["kind"], $0["live"]) }, limits: limits)
            let insertKey = try db.cachedStatement(sql: """
                INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint,
                                     rate_limit, allowed_origins, created_at, expires_at, last_used_at)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """)
            for key in batch.decide(owners: owned, live: live, limits: limits, now: now) {
                let record = key.record
                try insertKey.execute(arguments: [
                    record.id, record.organizationId, record.name, record.kind, StorageCoding.list(record.capabilities),
                    record.environment, record.hint, record.rateLimit, StorageCoding.list(record.allowedOrigins),
                    StorageCoding.milliseconds(record.createdAt), record.expiresAt.map(StorageCoding.milliseconds),
                    record.lastUsedAt.map(StorageCoding.milliseconds),
                ])
                try insertSecret(key.digest, keyId: record.id, db)
                try appendAudit(.keyImported, organizationId: record.organizationId, keyId: record.id, actor: key.actor,
                                details: key.auditDetails, at: now, db)
                try insertEvent(record.event(.keyImported, ["source": .string(key.source)]), at: now, db)
            }
            return batch.answers
        }
    }
}
