import Foundation
public import KeyStore

extension PostgresKeyStorage {
    public func eraseOrganization(_ organizationId: String, actor: String?) throws(KeyStoreError) -> OrganizationErasure {
        let organizationId = try validator.organizationId(organizationId)
        let actor = try validator.actor(actor)
        let now = self.now
        return try write { connection in
            // After any creation or count of the organization under way on
            // another host commits, and before the next: none outlives it.
            lockOrganization(organizationId, connection)
            // After any flush of meter counts under way commits, and before
            // the next: a flush holds this row from before it looks for
            // erasures to its commit, so it either sees this one and drops
            // the organization's counts taken before it, or commits before
            // the meters below are deleted (flush(usage:meters:identity:changesSeen:)).
            // Taken before any key row: a flush locks its keys' rows after
            // this one, and they may be the keys erased here.
            connection.send("SELECT 1 FROM count_log WHERE id = 1 FOR UPDATE")
            // Secrets and usage go with the keys (ON DELETE CASCADE), the
            // keys' deletion logged for every host's cache in one move of
            // the change head (schema 25).
            let keys = try connection.query("""
                WITH gone AS (DELETE FROM api_key WHERE organization_id = $1 RETURNING 1) SELECT COUNT(*) FROM gone
                """, [.text(organizationId)]).int(0, 0) ?? 0
            for table in OrganizationErasure.tables {
                connection.send("DELETE FROM \(table) WHERE organization_id = $1", [.text(organizationId)])
            }
            // The organization itself changed, subscription or not: every
            // host forgets its plan and stored counts, whatever it held,
            // and drops the counts it took of it before learning of this
            // (marked: schema 26).
            connection.send("INSERT INTO change_event (seq, organization_id, erased) SELECT keygate_changes_logged(1), $1, true",
                            [.text(organizationId)])
            let erasure = OrganizationErasure(keys: keys)
            appendAudit(.organizationErased, organizationId: organizationId, keyId: nil, actor: actor,
                        details: erasure.details, at: now, connection)
            insertEvent(NewEvent(type: .organizationErased, organizationId: organizationId, data: erasure.details),
                        at: now, connection)
            return erasure
        }
    }
}
