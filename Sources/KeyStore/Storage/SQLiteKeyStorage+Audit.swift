public import Foundation
import GRDB
import KeygateJSON

extension SQLiteKeyStorage {
    public func auditLog(organizationId: String, keyId: String?, cursor: String?, limit: Int?) throws(KeyStoreError)
        -> AuditPage
    {
        let organizationId = try validator.organizationId(organizationId)
        let limit = try KeyValidator.pageSize(limit)
        let before = try cursor.map(StorageCoding.position) ?? Int64.max
        let rows = try read { db in
            guard let keyId else {
                return try Row.fetchAll(db.cachedStatement(sql: """
                        SELECT * FROM audit_entry WHERE organization_id = ? AND id < ?
                        ORDER BY id DESC LIMIT ?
                        """),
                    arguments: [organizationId, before, limit + 1])
            }
            // By the key's own index (v24): its entries alone are read.
            return try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT * FROM audit_entry WHERE organization_id = ? AND key_id = ? AND id < ?
                    ORDER BY id DESC LIMIT ?
                    """),
                arguments: [organizationId, keyId, before, limit + 1])
        }
        let page = rows.prefix(limit)
        let entries = page.map { row in
            AuditEntry(
                id: row["id"],
                organizationId: row["organization_id"],
                at: StorageCoding.date(row["at"]),
                actor: row["actor"],
                action: AuditAction(rawValue: row["action"]),
                keyId: row["key_id"],
                details: (try? JSONParser.parse(row["details"] as String)) ?? [:]
            )
        }
        let nextCursor = rows.count > limit ? entries.last.map { StorageCoding.cursor($0.id) } : nil
        return AuditPage(entries: entries, nextCursor: nextCursor)
    }

    public func pruneAudit(before: Date, after cursor: Int64?, entries: Int) throws(KeyStoreError) -> AuditPruning {
        precondition(entries > 0, "a step looks at one entry or more")
        let cutoff = StorageCoding.milliseconds(before)
        return try write { db in
            // The step's entries by id, read up to the first not past the
            // retention (a pass that finds nothing reads one); those
            // before it go, in one range of ids (the write lock keeps any
            // other process out meanwhile).
            let step = try Row.fetchCursor(db.cachedStatement(sql: """
                SELECT id, at < ?2 FROM audit_entry WHERE id > ?1 ORDER BY id LIMIT ?3
                """), arguments: [cursor ?? 0, cutoff, entries])
            var (last, past): (Int64?, Int) = (nil, 0)
            while let entry = try step.next(), entry[1] as Bool { (last, past) = (entry[0], past + 1) }
            guard let last else { return AuditPruning(pruned: 0, next: nil) }
            try db.execute(sql: "DELETE FROM audit_entry WHERE id > ? AND id <= ?", arguments: [cursor ?? 0, last])
            // A whole step past it: the next may find more.
            return AuditPruning(pruned: db.changesCount, next: past == entries ? last : nil)
        }
    }

    /// Appends to the log inside the caller's transaction, so an entry exists
    /// exactly when its change does.
    func appendAudit(
        _ action: AuditAction, organizationId: String, keyId: String?, actor: String,
        details: [String: JSON], at: Date, _ db: Database
    ) throws {
        let json = JSON.auditText(details)
        try db.run(cached: """
                INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
                VALUES (?, ?, ?, ?, ?, ?)
                """) { row in
            RawStatement.firstFailure(row.bind(1, text: organizationId), row.bind(2, int: StorageCoding.milliseconds(at)),
                                      row.bind(3, text: actor), row.bind(4, text: action.rawValue),
                                      row.bind(5, text: keyId), row.bind(6, text: json))
        }
    }
}
