public import Foundation
public import KeyStore

extension PostgresKeyStorage {
    public func recordSettings(_ settings: [SettingInUse], within window: TimeInterval) throws(KeyStoreError) -> [SettingInUse] {
        let now = self.now
        let recorded = try write { connection in
            for setting in settings {
                try connection.query("""
                    INSERT INTO setting_in_use (name, value, source, host, process_id, seen_at) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (name, value) DO UPDATE SET
                        source = excluded.source, host = excluded.host, process_id = excluded.process_id, seen_at = excluded.seen_at
                    """, [.text(setting.name), .text(setting.value), .text(setting.source), .text(setting.host),
                          .of(Int(setting.processId)), .integer(StorageCoding.milliseconds(now))])
            }
            try connection.query("DELETE FROM setting_in_use WHERE seen_at < $1",
                                 [.integer(StorageCoding.milliseconds(now.addingTimeInterval(-SettingInUse.retention)))])
            return try Self.settings(since: now.addingTimeInterval(-window), connection)
        }
        return SettingInUse.others(of: settings, in: recorded)
    }

    /// The settings recorded since `start`, most recent first.
    static func settings(since start: Date, _ connection: PGConnection) throws(PGError) -> [SettingInUse] {
        let rows = try connection.query("""
            SELECT name, value, source, host, process_id, seen_at FROM setting_in_use
            WHERE seen_at >= $1 ORDER BY seen_at DESC, name, value
            """, [.integer(StorageCoding.milliseconds(start))])
        return (0..<rows.count).map { row in
            SettingInUse(name: rows.string(row, 0) ?? "", value: rows.string(row, 1) ?? "", source: rows.string(row, 2) ?? "",
                         host: rows.string(row, 3) ?? "", processId: Int32(truncatingIfNeeded: rows.int64(row, 4) ?? 0),
                         seenAt: StorageCoding.date(rows.int64(row, 5) ?? 0))
        }
    }
}
