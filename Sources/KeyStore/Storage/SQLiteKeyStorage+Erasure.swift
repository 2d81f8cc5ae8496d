import Foundation
import GRDB
import KeygateJSON

extension SQLiteKeyStorage {
    public func eraseOrganization(_ organizationId: String, actor: String?) throws(KeyStoreError) -> OrganizationErasure {
        let organizationId = try validator.organizationId(organizationId)
        let actor = try validator.actor(actor)
        let now = self.now
        let (erasure, keyIds) = try write { db in
            // Secrets and usage counts go with the keys (ON DELETE CASCADE),
            // each key's deletion logged for every process's cache; from the
            // usage file once the erasure commits (below).
            let keyIds = try String.fetchAll(
                db.cachedStatement(sql: "DELETE FROM api_key WHERE organization_id = ? RETURNING id"), arguments: [organizationId])
            for table in OrganizationErasure.tables {
                try db.cachedStatement(sql: "DELETE FROM \(table) WHERE organization_id = ?").execute(arguments: [organizationId])
            }
            // The organization itself changed, subscription or not: every
            // process forgets its plan and stored counts, whatever it held,
            // and drops the counts it took of it before learning of this
            // (marked: v26).
            try db.cachedStatement(sql: "INSERT INTO change_event (organization_id, erased) VALUES (?, 1)")
                .execute(arguments: [organizationId])
            let erasure = OrganizationErasure(keys: keyIds.count)
            try appendAudit(.organizationErased, organizationId: organizationId, keyId: nil, actor: actor,
                            details: erasure.details, at: now, db)
            try insertEvent(NewEvent(type: .organizationErased, organizationId: organizationId, data: erasure.details),
                            at: now, db)
            return (erasure, keyIds)
        }
        // As a key's deletion: only once the erasure stands.
        usageFile?.forget(keyIds: keyIds, at: now, whenCommitted: bound?.connection)
        return erasure
    }
}
