public import Foundation
public import KeyStore
import KeygateJSON

extension PostgresKeyStorage {
    public func auditLog(organizationId: String, keyId: String?, cursor: String?, limit: Int?) throws(KeyStoreError)
        -> AuditPage
    {
        let organizationId = try validator.organizationId(organizationId)
        let limit = try KeyValidator.pageSize(limit)
        let before = try cursor.map(StorageCoding.position) ?? Int64.max
        let rows = try read(listing: true) { connection in
            guard let keyId else {
                return try connection.query("""
                    SELECT id, organization_id, at, actor, action, key_id, details FROM audit_entry
                    WHERE organization_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3
                    """, [.text(organizationId), .integer(before), .of(limit + 1)])
            }
            // By the key's own index (22): its entries alone are read.
            return try connection.query("""
                SELECT id, organization_id, at, actor, action, key_id, details FROM audit_entry
                WHERE organization_id = $1 AND key_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4
                """, [.text(organizationId), .text(keyId), .integer(before), .of(limit + 1)])
        }
        let count = min(rows.count, limit)
        let entries = (0..<count).map { row in
            AuditEntry(
                id: rows.int64(row, 0) ?? 0,
                organizationId: rows.string(row, 1) ?? organizationId,
                at: StorageCoding.date(rows.int64(row, 2) ?? 0),
                actor: rows.string(row, 3) ?? "",
                action: AuditAction(rawValue: rows.string(row, 4) ?? ""),
                keyId: rows.string(row, 5),
                details: (try? JSONParser.parse(rows.string(row, 6) ?? "{}")) ?? [:])
        }
        let nextCursor = rows.count > limit ? entries.last.map { StorageCoding.cursor($0.id) } : nil
        return AuditPage(entries: entries, nextCursor: nextCursor)
    }

    public func pruneAudit(before: Date, after cursor: Int64?, entries: Int) throws(KeyStoreError) -> AuditPruning {
        precondition(entries > 0, "a step looks at one entry or more")
        // In one statement: the first entry after the cursor, and unless it
        // is kept (a pass that finds nothing reads no more), the step's
        // entries by id up to the first kept; those locked, in the order
        // of ids and skipping what another process's step holds (so two
        // passes at once neither wait on each other nor deadlock), and
        // deleted where they lie. Kept entries are read, never locked.
        let rows = try write { connection in
            try connection.query("""
                WITH first AS (
                    SELECT at FROM audit_entry WHERE id > $1 ORDER BY id LIMIT 1
                ), ahead AS (
                    SELECT id, at FROM audit_entry WHERE id > $1 AND (SELECT at FROM first) < $3 ORDER BY id LIMIT $2
                ), past AS (
                    SELECT id FROM ahead WHERE id < COALESCE((SELECT MIN(id) FROM ahead WHERE at >= $3), 9223372036854775807)
                ), step AS (
                    SELECT id FROM audit_entry WHERE id IN (SELECT id FROM past) ORDER BY id FOR UPDATE SKIP LOCKED
                ), gone AS (
                    DELETE FROM audit_entry a USING step s WHERE a.id = s.id RETURNING a.id
                )
                SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM past), (SELECT MAX(id) FROM past)
                """, [.integer(cursor ?? 0), .of(entries), .integer(StorageCoding.milliseconds(before))])
        }
        // A whole step past it (another pass's share of it included): the
        // next may find more.
        let whole = (rows.int(0, 1) ?? 0) == entries
        return AuditPruning(pruned: rows.int(0, 0) ?? 0, next: whole ? rows.int64(0, 2) : nil)
    }
}
