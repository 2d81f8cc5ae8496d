import Foundation
import GRDB
import KeygateJSON

extension SQLiteKeyStorage {
    public func update(id: String, organizationId: String, changes: KeyChanges, actor: String?) throws(KeyStoreError)
        -> KeyRecord
    {
        let now = self.now
        let checked = try validator.changes(changes, actor: actor, now: now)
        return try write { db in
            var key = try fetchKey(id: id, organizationId: organizationId, db)
            guard key.revokedAt == nil else { throw KeyStoreError(.keyRevoked, field: "keyId") }
            let details = checked.apply(to: &key)
            // An update that changes nothing writes nothing, not even to the log.
            guard !details.isEmpty else { return key }
            try db.cachedStatement(sql: """
                    UPDATE api_key SET name = ?, capabilities = ?, rate_limit = ?, allowed_origins = ?, expires_at = ?
                    WHERE id = ? AND organization_id = ?
                    """).execute(arguments: [key.name, StorageCoding.list(key.capabilities), key.rateLimit,
                            StorageCoding.list(key.allowedOrigins), key.expiresAt.map(StorageCoding.milliseconds),
                            id, organizationId])
            try appendAudit(.keyUpdated, organizationId: organizationId, keyId: id, actor: checked.actor,
                            details: details.audit, at: now, db)
            try insertEvent(key.updateEvent(details), at: now, db)
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
        return try write { db in
            if let idempotencyKey = rotation.idempotencyKey,
               let earlier = try Self.rotation(organizationId: organizationId, idempotencyKey: idempotencyKey, db)
            {
                throw earlier.refusal(of: remembered)
            }
            var key = try fetchKey(id: id, organizationId: organizationId, db)
            try rotation.check(key)
            let secret = rules.format.generate(environment: key.environment)
            let parsed = validator.parsedOwnSecret(secret)
            // Secrets whose grace has run out are dead weight; the current one
            // gets its deadline, or goes at once.
            try db.cachedStatement(sql: "DELETE FROM key_secret WHERE key_id = ? AND expires_at <= ?")
                .execute(arguments: [id, nowMilliseconds])
            if let previousExpiresAt {
                try rotation.checkRoom(working: Int.fetchOne(db.cachedStatement(
                    sql: "SELECT COUNT(*) FROM key_secret WHERE key_id = ? AND expires_at IS NOT NULL"), arguments: [id]) ?? 0)
                // The key's hint is still the replaced secret's: it goes with it.
                try db.cachedStatement(sql: "UPDATE key_secret SET expires_at = ?, hint = ? WHERE key_id = ? AND expires_at IS NULL")
                    .execute(arguments: [StorageCoding.milliseconds(previousExpiresAt), key.hint, id])
            } else {
                try db.cachedStatement(sql: "DELETE FROM key_secret WHERE key_id = ? AND expires_at IS NULL")
                    .execute(arguments: [id])
            }
            try insertSecret(parsed.digest, keyId: id, db)
            try db.cachedStatement(sql: "UPDATE api_key SET hint = ? WHERE id = ?")
                .execute(arguments: [parsed.hint, id])
            key.hint = parsed.hint
            if let idempotencyKey = rotation.idempotencyKey {
                try db.cachedStatement(sql: """
                    INSERT INTO key_rotation (organization_id, idempotency_key, rotated_at, \(KeyRotation.columns))
                    VALUES (?, ?, ?, ?, ?)
                    """).execute(arguments: [organizationId, idempotencyKey, nowMilliseconds, id, rotation.grace])
            }
            try appendAudit(.keyRotated, organizationId: organizationId, keyId: id, actor: rotation.actor,
                            details: rotation.auditDetails, at: now, db)
            try insertEvent(key.event(.keyRotated, rotation.eventDetails), at: now, db)
            return IssuedKey(key: key, secret: secret, previousSecretExpiresAt: previousExpiresAt)
        }
    }

    public func earlierRotation(id: String, organizationId: String, gracePeriodSeconds: Int, idempotencyKey: String)
        throws(KeyStoreError) -> KeyStoreError?
    {
        let sent = try validator.sentRotation(id: id, organizationId: organizationId,
                                              gracePeriodSeconds: gracePeriodSeconds, idempotencyKey: idempotencyKey)
        return try read { db in
            try Self.rotation(organizationId: sent.organizationId, idempotencyKey: sent.idempotencyKey, db)
        }?.refusal(of: sent.rotation)
    }

    /// The rotation made under an idempotency key, if one was.
    static func rotation(organizationId: String, idempotencyKey: String, _ db: Database) throws -> KeyRotation? {
        try Row.fetchOne(
            db.cachedStatement(sql: "SELECT \(KeyRotation.columns) FROM key_rotation WHERE organization_id = ? AND idempotency_key = ?"),
            arguments: [organizationId, idempotencyKey]
        ).map { row in KeyRotation(keyId: row[0], gracePeriodSeconds: row[1]) }
    }

    public func stopPreviousSecrets(id: String, organizationId: String, actor: String?) throws(KeyStoreError) -> KeyRecord {
        let actor = try validator.actor(actor)
        let now = self.now
        return try write { db in
            let key = try fetchKey(id: id, organizationId: organizationId, db)
            try key.checkSecretsChangeable(at: now)
            // In the write's own transaction: what the commands before it in its unit of work wrote too.
            guard let stopped = try Self.previousSecrets(keyIds: [id], at: now, db)[id] else { return key }
            // Those whose grace has run out go too: dead weight, as a rotation finds them.
            try db.cachedStatement(sql: "DELETE FROM key_secret WHERE key_id = ? AND expires_at IS NOT NULL")
                .execute(arguments: [id])
            let secrets = KeyRecord.stoppedSecrets(stopped)
            try appendAudit(.keyPreviousSecretsStopped, organizationId: organizationId, keyId: id, actor: actor,
                            details: ["name": .string(key.name), "secrets": secrets], at: now, db)
            try insertEvent(key.event(.keyPreviousSecretsStopped, ["secrets": secrets]), at: now, db)
            return key
        }
    }

    public func revoke(id: String, organizationId: String, actor: String?, reason: String?) throws(KeyStoreError)
        -> KeyRecord
    {
        let actor = try validator.actor(actor)
        let reason = try reason.map { reason throws(KeyStoreError) in try validator.reason(reason) }
        let now = self.now
        return try write { db in
            var key = try fetchKey(id: id, organizationId: organizationId, db)
            guard key.revokedAt == nil else { return key }
            try db.cachedStatement(sql: "UPDATE api_key SET revoked_at = ? WHERE id = ?")
                .execute(arguments: [StorageCoding.milliseconds(now), id])
            key.revokedAt = now
            try appendAudit(.keyRevoked, organizationId: organizationId, keyId: id, actor: actor,
                            details: KeyRecord.revocationDetails(key, reason: reason), at: now, db)
            try insertEvent(key.event(.keyRevoked, reason.map { ["reason": .string($0)] } ?? [:]), at: now, db)
            return key
        }
    }

    public func flagLeaked(id: String, organizationId: String, secret: LeakedSecret, actor: String?, location: String?)
        throws(KeyStoreError)
    {
        let actor = try validator.actor(actor)
        let location = try location.map { location throws(KeyStoreError) in try validator.reason(location) }
        let now = self.now
        try write { db in
            let key = try fetchKey(id: id, organizationId: organizationId, db)
            try appendAudit(.keyLeakReported, organizationId: organizationId, keyId: id, actor: actor,
                            details: KeyRecord.leakDetails(key, secret: secret, location: location), at: now, db)
            try insertEvent(key.leakEvent(revoked: false, secret: secret, location: location), at: now, db)
        }
    }

    public func delete(id: String, organizationId: String, actor: String?) throws(KeyStoreError) {
        let actor = try validator.actor(actor)
        let now = self.now
        try write { db in
            let key = try fetchKey(id: id, organizationId: organizationId, db)
            // Secrets and usage counts go with the key (ON DELETE CASCADE);
            // from the usage file, once the deletion commits (below).
            try db.cachedStatement(sql: "DELETE FROM api_key WHERE id = ?").execute(arguments: [id])
            try appendAudit(
                .keyDeleted, organizationId: organizationId, keyId: id, actor: actor,
                details: ["name": .string(key.name), "kind": .string(key.kind), "hint": .string(key.hint)],
                at: now, db)
            try insertEvent(key.event(.keyDeleted), at: now, db)
        }
        // Only now that the deletion stands: a command of a unit of work
        // that failed after its DELETE rolls back to its savepoint while
        // the unit's transaction goes on, and commits without it.
        usageFile?.forget(keyIds: [id], at: now, whenCommitted: bound?.connection)
    }
}
