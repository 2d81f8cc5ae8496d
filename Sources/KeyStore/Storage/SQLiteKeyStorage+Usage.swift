public import Foundation
import GRDB

extension SQLiteKeyStorage {
    public func recordUsage(_ increments: [UsageIncrement]) throws(KeyStoreError) {
        try flush(usage: increments, meters: [], identity: UUID().uuidString)
    }

    public func flush(usage increments: [UsageIncrement], meters: [MeterIncrement], identity: String) throws(KeyStoreError) {
        // Flushes come every second or so, also when nothing was counted:
        // the moment to let go of verification's shared read transaction,
        // should look-ups have paused with it open.
        releaseLookup()
        guard !increments.isEmpty || !meters.isEmpty else { return }
        try write { db in
            // A flush already written adds nothing (see the protocol).
            try db.cachedStatement(sql: "DELETE FROM usage_flush WHERE flushed_at < ?")
                .execute(arguments: [StorageCoding.milliseconds(now) - Self.flushIdentityLifetime])
            try db.cachedStatement(sql: "INSERT INTO usage_flush (flush_id, flushed_at) VALUES (?, ?) ON CONFLICT DO NOTHING")
                .execute(arguments: [identity, StorageCoding.milliseconds(now)])
            guard db.changesCount == 1 else { return }
            let addToMeter = try db.cachedStatement(sql: """
                INSERT INTO meter_usage (organization_id, meter, period_start, used) VALUES (?, ?, ?, ?)
                ON CONFLICT (organization_id, meter, period_start) DO UPDATE SET used = used + excluded.used
                RETURNING used
                """)
            let now = self.now
            for increment in meters where increment.amount > 0 {
                let used = try Int.fetchOne(addToMeter, arguments: [
                    increment.organizationId, increment.meter, StorageCoding.milliseconds(increment.periodStart),
                    increment.amount,
                ]) ?? increment.amount
                for event in increment.thresholdEvents(usedAfter: used) { try insertEvent(event, at: now, db) }
            }
            if meters.contains(where: { $0.amount > 0 }) {
                try db.cachedStatement(sql: "UPDATE count_log SET version = version + 1").execute()
            }
            // Prepared once per batch and bound by position: a flush writes many rows.
            let addDay = try db.cachedStatement(sql: """
                INSERT INTO key_usage_day (key_id, day, valid, invalid)
                SELECT ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM api_key WHERE id = ?1)
                ON CONFLICT (key_id, day) DO UPDATE SET
                    valid = valid + excluded.valid, invalid = invalid + excluded.invalid
                """)
            let touch = try db.cachedStatement(sql: """
                UPDATE api_key SET last_used_at = ?2, last_origin = ?3, last_ip = ?4
                WHERE id = ?1 AND (last_used_at IS NULL OR last_used_at < ?2)
                """)
            // Nearly every increment of a flush is of the same day.
            var day: (date: Date, text: String)?
            for increment in increments {
                if day?.date != increment.day { day = (increment.day, StorageCoding.day(increment.day)) }
                try addDay.execute(arguments: [
                    increment.keyId, day!.text, max(0, increment.valid), max(0, increment.invalid),
                ])
                if let lastUsedAt = increment.lastUsedAt {
                    try touch.execute(arguments: [
                        increment.keyId, StorageCoding.milliseconds(lastUsedAt), increment.lastOrigin, increment.lastIP,
                    ])
                }
            }
        }
    }
}

extension SQLiteKeyStorage {
    /// How long a flush's identity is remembered: far longer than any retry waits.
    static let flushIdentityLifetime: Int64 = 86_400_000

    public func usageDays(organizationId: String, keyId: String?, from: Date, to: Date) throws(KeyStoreError) -> [UsageDay] {
        let organizationId = try validator.organizationId(organizationId)
        let (first, last) = try validator.usageDays(from: from, to: to)
        return try read { db in
            if let keyId {
                _ = try fetchKey(id: keyId, organizationId: organizationId, db)
                return try Row.fetchAll(
                    db,
                    sql: "SELECT day, valid, invalid FROM key_usage_day WHERE key_id = ? AND day BETWEEN ? AND ? ORDER BY day",
                    arguments: [keyId, first, last]
                ).map { UsageDay(date: $0["day"], keyId: keyId, valid: $0["valid"], invalid: $0["invalid"]) }
            }
            return try Row.fetchAll(
                db,
                sql: """
                    SELECT u.day, SUM(u.valid) AS valid, SUM(u.invalid) AS invalid
                    FROM key_usage_day u JOIN api_key k ON k.id = u.key_id
                    WHERE k.organization_id = ? AND u.day BETWEEN ? AND ?
                    GROUP BY u.day ORDER BY u.day
                    """,
                arguments: [organizationId, first, last]
            ).map { UsageDay(date: $0["day"], keyId: nil, valid: $0["valid"], invalid: $0["invalid"]) }
        }
    }
}
