public import Foundation
import GRDB

extension SQLiteKeyStorage {
    public func recordSettings(_ settings: [SettingInUse], information: [SettingInUse], within window: TimeInterval)
        throws(KeyStoreError) -> [SettingInUse]
    {
        let now = self.now
        let recorded = try write { db in
            func arguments(_ setting: SettingInUse) -> StatementArguments {
                [setting.name, setting.value, setting.source, setting.host, Int64(setting.processId),
                 StorageCoding.milliseconds(now)]
            }
            for setting in settings {
                try db.cachedStatement(sql: """
                    INSERT INTO setting_in_use (name, value, source, host, process_id, seen_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (name, value) DO UPDATE SET
                        source = excluded.source, host = excluded.host, process_id = excluded.process_id, seen_at = excluded.seen_at
                    """).execute(arguments: arguments(setting))
            }
            for setting in settings + information {
                try db.cachedStatement(sql: """
                    INSERT INTO process_setting (name, value, source, host, process_id, seen_at) VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (host, process_id, name) DO UPDATE SET
                        value = excluded.value, source = excluded.source, seen_at = excluded.seen_at
                    """).execute(arguments: arguments(setting))
            }
            let forgotten = StorageCoding.milliseconds(now.addingTimeInterval(-SettingInUse.retention))
            try db.cachedStatement(sql: "DELETE FROM setting_in_use WHERE seen_at < ?").execute(arguments: [forgotten])
            try db.cachedStatement(sql: "DELETE FROM process_setting WHERE seen_at < ?").execute(arguments: [forgotten])
            return try Self.settings(since: now.addingTimeInterval(-window), in: .values, db)
        }
        return SettingInUse.others(of: settings, in: recorded)
    }

    /// The settings recorded since `start`, most recent first: each value
    /// with its last process (`.values`, what processes agree by), or each
    /// process's (`.processes`, what `keygate status` lists).
    static func settings(since start: Date, in table: SettingTable, _ db: Database) throws -> [SettingInUse] {
        try Row.fetchAll(db.cachedStatement(sql: """
                SELECT name, value, source, host, process_id, seen_at FROM \(table.rawValue)
                WHERE seen_at >= ? ORDER BY seen_at DESC, name, value, host, process_id
                """), arguments: [StorageCoding.milliseconds(start)]).map { row in
            SettingInUse(name: row[0], value: row[1], source: row[2], host: row[3],
                         processId: Int32(truncatingIfNeeded: row[4] as Int64), seenAt: StorageCoding.date(row[5] as Int64))
        }
    }
}
