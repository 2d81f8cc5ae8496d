public import Foundation
import GRDB

extension SQLiteKeyStorage {
    public func recordSettings(_ settings: [SettingInUse], within window: TimeInterval) throws(KeyStoreError) -> [SettingInUse] {
        let now = self.now
        let recorded = try write { db in
            for setting in settings {
                try db.cachedStatement(sql: """
                    INSERT INTO setting_in_use (name, value, source, host, process_id, seen_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name, value) DO UPDATE SET
                        source = excluded.source, host = excluded.host, process_id = excluded.process_id, seen_at = excluded.seen_at
                    """).execute(arguments: [setting.name, setting.value, setting.source, setting.host, Int64(setting.processId),
                                             StorageCoding.milliseconds(now)])
            }
            try db.cachedStatement(sql: "DELETE FROM setting_in_use WHERE seen_at < ?")
                .execute(arguments: [StorageCoding.milliseconds(now.addingTimeInterval(-SettingInUse.retention))])
            return try Self.settings(since: now.addingTimeInterval(-window), db)
        }
        return SettingInUse.others(of: settings, in: recorded)
    }

    /// The settings recorded since `start`, most recent first.
    static func settings(since start: Date, _ db: Database) throws -> [SettingInUse] {
        try Row.fetchAll(db.cachedStatement(sql: """
                SELECT name, value, source, host, process_id, seen_at FROM setting_in_use
                WHERE seen_at >= ? ORDER BY seen_at DESC, name, value
                """), arguments: [StorageCoding.milliseconds(start)]).map { row in
            SettingInUse(name: row[0], value: row[1], source: row[2], host: row[3],
                         processId: Int32(truncatingIfNeeded: row[4] as Int64), seenAt: StorageCoding.date(row[5] as Int64))
        }
    }
}
