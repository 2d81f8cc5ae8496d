public import Foundation
import GRDB

extension SQLiteKeyStorage {
    public func recordCatalog(_ catalog: CatalogInUse, within window: TimeInterval) throws(KeyStoreError) -> [CatalogInUse] {
        let now = self.now
        return try write { db in
            try db.cachedStatement(sql: """
                INSERT INTO catalog_in_use (digest, source, host, process_id, seen_at) VALUES (?, ?, ?, ?, ?)
                ON CONFLICT (digest) DO UPDATE SET
                    source = excluded.source, host = excluded.host, process_id = excluded.process_id, seen_at = excluded.seen_at
                """).execute(arguments: [catalog.digest, catalog.source, catalog.host, Int64(catalog.processId),
                                         StorageCoding.milliseconds(now)])
            try db.cachedStatement(sql: "DELETE FROM catalog_in_use WHERE seen_at < ?")
                .execute(arguments: [StorageCoding.milliseconds(now.addingTimeInterval(-CatalogInUse.retention))])
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT digest, source, host, process_id, seen_at FROM catalog_in_use
                    WHERE digest <> ? AND seen_at >= ? ORDER BY seen_at DESC, digest
                    """), arguments: [catalog.digest, StorageCoding.milliseconds(now.addingTimeInterval(-window))])
            return rows.map { row in
                CatalogInUse(digest: row[0], source: row[1], host: row[2], processId: Int32(truncatingIfNeeded: row[3] as Int64),
                             seenAt: StorageCoding.date(row[4] as Int64))
            }
        }
    }
}
