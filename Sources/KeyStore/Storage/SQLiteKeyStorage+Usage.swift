import Foundation
import GRDB

extension SQLiteKeyStorage {
    public func recordUsage(_ increments: [UsageIncrement]) throws(KeyStoreError) {
        try flush(usage: increments, meters: [])
    }

    public func flush(usage increments: [UsageIncrement], meters: [MeterIncrement]) throws(KeyStoreError) {
        guard !increments.isEmpty || !meters.isEmpty else { return }
        try write { db in
            let addToMeter = try db.cachedStatement(sql: """
                INSERT INTO meter_usage (organization_id, meter, period_start, used) VALUES (?, ?, ?, ?)
                ON CONFLICT (organization_id, meter, period_start) DO UPDATE SET used = used + excluded.used
                """)
            for increment in meters where increment.amount > 0 {
                try addToMeter.execute(arguments: [
                    increment.organizationId, increment.meter, StorageCoding.milliseconds(increment.periodStart),
                    increment.amount,
                ])
            }
            // Prepared once per batch: a flush writes many rows.
            let addDay = try db.cachedStatement(sql: """
                INSERT INTO key_usage_day (key_id, day, valid, invalid)
                SELECT :key, :day, :valid, :invalid WHERE EXISTS (SELECT 1 FROM api_key WHERE id = :key)
                ON CONFLICT (key_id, day) DO UPDATE SET
                    valid = valid + excluded.valid, invalid = invalid + excluded.invalid
                """)
            let touch = try db.cachedStatement(sql: """
                UPDATE api_key SET last_used_at = :at, last_origin = :origin, last_ip = :ip
                WHERE id = :key AND (last_used_at IS NULL OR last_used_at < :at)
                """)
            for increment in increments {
                try addDay.execute(arguments: [
                    "key": increment.keyId, "day": StorageCoding.day(increment.day),
                    "valid": max(0, increment.valid), "invalid": max(0, increment.invalid),
                ])
                if let lastUsedAt = increment.lastUsedAt {
                    try touch.execute(arguments: [
                        "key": increment.keyId, "at": StorageCoding.milliseconds(lastUsedAt),
                        "origin": increment.lastOrigin, "ip": increment.lastIP,
                    ])
                }
            }
        }
    }
}
