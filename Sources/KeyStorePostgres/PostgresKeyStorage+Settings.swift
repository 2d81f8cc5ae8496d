public import Foundation
public import KeyStore

extension PostgresKeyStorage {
    public func recordSettings(_ settings: [SettingInUse], information: [SettingInUse], within window: TimeInterval)
        throws(KeyStoreError) -> [SettingInUse]
    {
        let now = self.now
        let recorded = try write { connection in
            func parameters(_ setting: SettingInUse) -> [PGValue] {
                [.text(setting.name), .text(setting.value), .text(setting.source), .text(setting.host),
                 .of(Int(setting.processId)), .integer(StorageCoding.milliseconds(now))]
            }
            for setting in settings {
                try connection.query("""
                    INSERT INTO setting_in_use (name, value, source, host, process_id, seen_at) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (name, value) DO UPDATE SET
                        source = excluded.source, host = excluded.host, process_id = excluded.process_id, seen_at = excluded.seen_at
                    """, parameters(setting))
            }
            for setting in settings + information {
                try connection.query("""
                    INSERT INTO process_setting (name, value, source, host, process_id, seen_at) VALUES ($1, $2, $3, $4, $5, $6)
                    ON CONFLICT (host, process_id, name) DO UPDATE SET
                        value = excluded.value, source = excluded.source, seen_at = excluded.seen_at
                    """, parameters(setting))
            }
            let forgotten: [PGValue] = [.integer(StorageCoding.milliseconds(now.addingTimeInterval(-SettingInUse.retention)))]
            try connection.query("DELETE FROM setting_in_use WHERE seen_at < $1", forgotten)
            try connection.query("DELETE FROM process_setting WHERE seen_at < $1", forgotten)
            return try Self.settings(since: now.addingTimeInterval(-window), in: .values, connection)
        }
        return SettingInUse.others(of: settings, in: recorded)
    }

    /// The settings recorded since `start`, most recent first: each value
    /// with its last process (`.values`, what processes agree by), or each
    /// process's (`.processes`, what `keygate status` lists).
    static func settings(since start: Date, in table: SettingTable, _ connection: PGConnection)
        throws(PGError) -> [SettingInUse]
    {
        let rows = try connection.query("""
            SELECT name, value, source, host, process_id, seen_at FROM \(table.rawValue)
            WHERE seen_at >= $1 ORDER BY seen_at DESC, name, value, host, process_id
            """, [.integer(StorageCoding.milliseconds(start))])
        return (0..<rows.count).map { row in
            SettingInUse(name: rows.string(row, 0) ?? "", value: rows.string(row, 1) ?? "", source: rows.string(row, 2) ?? "",
                         host: rows.string(row, 3) ?? "", processId: Int32(truncatingIfNeeded: rows.int64(row, 4) ?? 0),
                         seenAt: StorageCoding.date(rows.int64(row, 5) ?? 0))
        }
    }
}

extension PostgresKeyStorage {
    /// Three readings of the server's `clock_timestamp()` on one pool
    /// connection, each between two readings of the store's clock; the
    /// offset by the quickest.
    public func clockOffset() throws(KeyStoreError) -> ClockOffset? {
        let readings = try read { connection in
            try (0..<3).map { _ in
                let before = clock.now()
                let server = try connection.query("SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint")
                let after = clock.now()
                return (before: before, server: Date(timeIntervalSince1970: Double(server.int64(0, 0) ?? 0) / 1_000_000),
                        after: after)
            }
        }
        return ClockOffset.measured(readings)
    }
}
