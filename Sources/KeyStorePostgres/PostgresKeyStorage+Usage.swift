public import Foundation
public import KeyStore

extension PostgresKeyStorage {
    public func recordUsage(_ increments: [UsageIncrement]) throws(KeyStoreError) {
        try flush(usage: increments, meters: [], identity: UUID().uuidString)
    }

    /// Adds a flush's meter counts (sorted, each above zero), with the
    /// threshold events they cross, inside the flush's transaction.
    private func addToMeters(_ meters: [MeterIncrement], changesSeen: Int64?, _ connection: PGConnection) throws {
        // The count version moves first: its row, locked to the commit,
        // orders the flushes of every host, and the rows this one
        // moves carry the new version (meterChanges).
        let version = try connection.query("UPDATE count_log SET version = version + 1 WHERE id = 1 RETURNING version")
            .int64(0, 0) ?? 0
        // Counted before an erasure of their organization that the
        // counting host had not seen: the erasure took what was written,
        // and this goes with it. The row above orders this look with
        // erasures (eraseOrganization locks it too): one committed before
        // it is seen; one after deletes what this flush writes.
        var erased: Set<String> = []
        if let changesSeen {
            let rows = try connection.query(
                "SELECT DISTINCT organization_id FROM change_event WHERE seq > $1 AND erased", [.integer(changesSeen)])
            erased = Set((0..<rows.count).compactMap { rows.string($0, 0) })
        }
        let meters = erased.isEmpty ? meters : meters.filter { !erased.contains($0.organizationId) }
        guard !meters.isEmpty else { return }
        let totals = try connection.query("""
            INSERT INTO meter_usage (organization_id, meter, period_start, used, version)
            SELECT u.*, $5::bigint FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[]) AS u
            ON CONFLICT (organization_id, meter, period_start) DO UPDATE SET
                used = meter_usage.used + excluded.used, version = excluded.version
            RETURNING organization_id, meter, period_start, used
            """, [
            .text(Self.textArray(meters.map(\.organizationId))), .text(Self.textArray(meters.map(\.meter))),
            .text(Self.integerArray(meters.map { StorageCoding.milliseconds($0.periodStart) })),
            .text(Self.integerArray(meters.map { Int64($0.amount) })), .integer(version),
        ])
        // Quotas that crossed a threshold, their events in the same transaction.
        var used: [String: Int] = [:]
        for row in 0..<totals.count {
            used["\(totals.string(row, 0) ?? "") \(totals.string(row, 1) ?? "") \(totals.int64(row, 2) ?? 0)"] = totals.int(row, 3)
        }
        let at = self.now
        for increment in meters where increment.limit != nil {
            let slot = "\(increment.organizationId) \(increment.meter) \(StorageCoding.milliseconds(increment.periodStart))"
            for event in increment.thresholdEvents(usedAfter: used[slot] ?? increment.amount) {
                insertEvent(event, at: at, connection)
            }
        }
    }

    /// Adds a flush's counts in one transaction, with its identity, which
    /// the database keeps for a day: a flush whose identity is already
    /// there was written before (its acknowledgement lost) and adds nothing.
    public func flush(usage increments: [UsageIncrement], meters: [MeterIncrement], identity: String, changesSeen: Int64?)
        throws(KeyStoreError)
    {
        guard !increments.isEmpty || meters.contains(where: { $0.amount > 0 }) else { return }
        // In a fixed order (keys by id, meters by organization and period),
        // so that flushes of several processes touching the same rows wait
        // for each other rather than deadlock.
        let increments = increments.sorted { ($0.keyId, $0.day) < ($1.keyId, $1.day) }
        let meters = meters.filter { $0.amount > 0 }
            .sorted { ($0.organizationId, $0.meter, $0.periodStart) < ($1.organizationId, $1.meter, $1.periodStart) }
        let now = StorageCoding.milliseconds(self.now)
        try write { connection in
            let first = try connection.query("""
                INSERT INTO usage_flush (flush_id, flushed_at) VALUES ($1, $2) ON CONFLICT (flush_id) DO NOTHING
                """, [.text(identity), .integer(now)])
            guard first.changed == 1 else { return }
            // A whole batch in a few statements, its rows as arrays.
            if !meters.isEmpty { try addToMeters(meters, changesSeen: changesSeen, connection) }
            guard !increments.isEmpty else { return }
            let breakdown = increments.flatMap { increment in
                increment.breakdown.map { (increment.keyId, StorageCoding.day(increment.day), $0.dimension, $0.name, $0.count) }
            }
            // The keys' rows first, in id order, so that no key is deleted
            // under the flush, and flushes of several hosts wait for each
            // other rather than deadlock. A share lock: flushes never write
            // a key's own row, and a keys.update or a revocation need not
            // wait for them. A key deleted before it is not locked, and its
            // counts are dropped. Then each day's totals (the last use in
            // the day's row too: one row per key and flush) and their
            // breakdown, for the keys locked: one statement, so that the
            // lock's own rows say which keys stand, where each insert used
            // to look every key up again (docs/PERFORMANCE.md).
            connection.send("""
                WITH locked AS MATERIALIZED (
                    SELECT id FROM api_key WHERE id = ANY ($1::text[]) ORDER BY id FOR KEY SHARE
                ), days AS (
                    INSERT INTO key_usage_day (key_id, day, valid, invalid, last_used_at, last_origin, last_ip)
                    SELECT u.key_id, u.day, u.valid, u.invalid, u.at, u.origin, u.ip
                    FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], $6::text[], $7::text[])
                        AS u (key_id, day, valid, invalid, at, origin, ip)
                    WHERE u.key_id IN (SELECT id FROM locked)
                    ORDER BY u.key_id, u.day
                    ON CONFLICT (key_id, day) DO UPDATE SET \(StorageCoding.dayRowMerge)
                )
                INSERT INTO key_usage_count (key_id, day, dimension, name, count)
                SELECT c.key_id, c.day, c.dimension, c.name, c.count
                FROM unnest($8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[])
                    AS c (key_id, day, dimension, name, count)
                WHERE c.key_id IN (SELECT id FROM locked)
                ORDER BY c.key_id, c.day, c.dimension, c.name
                ON CONFLICT (key_id, day, dimension, name) DO UPDATE SET count = key_usage_count.count + excluded.count
                """, [
                .text(Self.textArray(increments.map(\.keyId))),
                .text(Self.textArray(increments.map { StorageCoding.day($0.day) })),
                .text(Self.integerArray(increments.map { Int64(max(0, $0.valid)) })),
                .text(Self.integerArray(increments.map { Int64(max(0, $0.invalid)) })),
                .text(Self.integerArray(increments.map { $0.lastUsedAt.map(StorageCoding.milliseconds) })),
                .text(Self.textArray(increments.map(\.lastOrigin))), .text(Self.textArray(increments.map(\.lastIP))),
                .text(Self.textArray(breakdown.map(\.0))), .text(Self.textArray(breakdown.map(\.1))),
                .text(Self.textArray(breakdown.map(\.2))), .text(Self.textArray(breakdown.map(\.3))),
                .text(Self.integerArray(breakdown.map { Int64($0.4) })),
            ])
            // Identities are needed only as long as a retry could come.
            connection.send("DELETE FROM usage_flush WHERE flushed_at < $1", [.integer(now - 86_400_000)])
        }
    }

    public func usageDays(organizationId: String, keyId: String?, from: Date, to: Date) throws(KeyStoreError) -> [UsageDay] {
        let organizationId = try validator.organizationId(organizationId)
        let (first, last) = try validator.usageDays(from: from, to: to)
        return try read(listing: true) { connection in
            if let keyId { _ = try fetchKey(id: keyId, organizationId: organizationId, connection) }
            let queries = UsageDay.queries(forKey: keyId != nil, marker: "$")
            let arguments: [PGValue] = [.text(keyId ?? organizationId), .text(first), .text(last)]
            let totals = try connection.query(queries.totals, arguments)
            let counts = try connection.query(queries.counts, arguments)
            return UsageDay.days(
                keyId: keyId,
                totals: (0..<totals.count).map { (totals.string($0, 0) ?? "", totals.int($0, 1) ?? 0, totals.int($0, 2) ?? 0) },
                counts: (0..<counts.count).map {
                    (counts.string($0, 0) ?? "", counts.string($0, 1) ?? "", counts.string($0, 2) ?? "", counts.int($0, 3) ?? 0)
                })
        }
    }

    public func foldUsage(before: Date, due: Date, after cursor: String?, keys: Int) throws(KeyStoreError) -> UsageFold {
        let (cutoff, due) = (StorageCoding.day(before), StorageCoding.day(due))
        let rows = try write { connection in
            // The step's keys from the keys' own index; a key's days are
            // found, summed and deleted where they lie, under its id. The
            // rows this statement deletes are the ones it folds: a process
            // folding the same key at once waits for them, finds them gone
            // and folds nothing, and rows flushed meanwhile stay for a
            // later pass.
            try connection.query("""
                WITH batch AS (
                    SELECT id FROM api_key WHERE id > $1 ORDER BY id LIMIT $2
                ), due AS (
                    SELECT b.id FROM batch b
                    WHERE (SELECT MIN(day) FROM key_usage_day WHERE key_id = b.id AND day > $3) < $5
                ), gone AS (
                    DELETE FROM key_usage_day u USING due WHERE u.key_id = due.id AND u.day > $3 AND u.day < $4
                    RETURNING u.key_id, u.valid, u.invalid, u.last_used_at, u.last_origin, u.last_ip
                ), breakdowns AS (
                    DELETE FROM key_usage_count c USING due WHERE c.key_id = due.id AND c.day > $3 AND c.day < $4
                ), folded AS (
                    INSERT INTO key_usage_day (key_id, day, valid, invalid, last_used_at, last_origin, last_ip)
                    SELECT key_id, $3, SUM(valid), SUM(invalid), MAX(last_used_at),
                           (array_agg(last_origin ORDER BY last_used_at DESC NULLS LAST))[1],
                           (array_agg(last_ip ORDER BY last_used_at DESC NULLS LAST))[1]
                    FROM gone GROUP BY key_id
                    ON CONFLICT (key_id, day) DO UPDATE SET \(StorageCoding.dayRowMerge)
                )
                SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM batch), (SELECT MAX(id) FROM batch)
                """, [.text(cursor ?? ""), .of(keys), .text(StorageCoding.foldedDay), .text(cutoff), .text(due)])
        }
        let looked = rows.int(0, 1) ?? 0
        return UsageFold(folded: rows.int(0, 0) ?? 0, next: looked < keys ? nil : rows.string(0, 2))
    }
}
