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
            // Secrets and usage go with the keys (ON DELETE CASCADE). The
            // triggers that log each deleted row for every host's cache
            // stand aside (schema 24): row by row, thousands of moves of
            // the change head in one transaction cost seconds, every
            // host's key changes waiting on it. The deletions are logged
            // here in one move instead: each key, then the organization
            // itself (subscription or not: every host forgets its plan
            // and stored counts, whatever it held).
            connection.send("SELECT set_config('keygate.erasing', 'on', true)")
            let keys = try connection.query("""
                WITH gone AS (
                    DELETE FROM api_key WHERE organization_id = $1 RETURNING id
                ), counted AS (
                    SELECT COUNT(*) AS n FROM gone
                ), head AS (
                    SELECT keygate_changes_logged((SELECT n FROM counted) + 1) AS last
                ), logged AS (
                    INSERT INTO change_event (seq, organization_id, key_id, digest)
                    SELECT (SELECT last FROM head) - (SELECT n FROM counted) + row_number() OVER () - 1, $1, id, NULL::bytea FROM gone
                    UNION ALL
                    SELECT (SELECT last FROM head), $1, NULL, NULL
                )
                SELECT n FROM counted
                """, [.text(organizationId)]).int(0, 0) ?? 0
            for table in OrganizationErasure.tables {
                connection.send("DELETE FROM \(table) WHERE organization_id = $1", [.text(organizationId)])
            }
            // A unit of work goes on after this command: its changes are
            // logged as ever.
            connection.send("SELECT set_config('keygate.erasing', 'off', true)")
            let erasure = OrganizationErasure(keys: keys)
            appendAudit(.organizationErased, organizationId: organizationId, keyId: nil, actor: actor,
                        details: erasure.details, at: now, connection)
            insertEvent(NewEvent(type: .organizationErased, organizationId: organizationId, data: erasure.details),
                        at: now, connection)
            return erasure
        }
    }
}
