public import Foundation
public import KeyStore

extension PostgresKeyStorage {
    public func recordCatalog(_ catalog: CatalogInUse, within window: TimeInterval) throws(KeyStoreError) -> [CatalogInUse] {
        let now = self.now
        let rows = try write { connection in
            try connection.query("""
                INSERT INTO catalog_in_use (digest, source, host, process_id, seen_at) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (digest) DO UPDATE SET
                    source = excluded.source, host = excluded.host, process_id = excluded.process_id, seen_at = excluded.seen_at
                """, [.text(catalog.digest), .text(catalog.source), .text(catalog.host), .of(Int(catalog.processId)),
                      .integer(StorageCoding.milliseconds(now))])
            try connection.query("DELETE FROM catalog_in_use WHERE seen_at < $1",
                                 [.integer(StorageCoding.milliseconds(now.addingTimeInterval(-CatalogInUse.retention)))])
            return try connection.query("""
                SELECT digest, source, host, process_id, seen_at FROM catalog_in_use
                WHERE digest <> $1 AND seen_at >= $2 ORDER BY seen_at DESC, digest
                """, [.text(catalog.digest), .integer(StorageCoding.milliseconds(now.addingTimeInterval(-window)))])
        }
        return (0..<rows.count).map { row in
            CatalogInUse(digest: rows.string(row, 0) ?? "", source: rows.string(row, 1) ?? "", host: rows.string(row, 2) ?? "",
                         processId: Int32(truncatingIfNeeded: rows.int64(row, 3) ?? 0),
                         seenAt: StorageCoding.date(rows.int64(row, 4) ?? 0))
        }
    }
}
