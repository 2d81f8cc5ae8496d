public import Foundation
public import KeyStore
import KeygateJSON

extension PostgresKeyStorage {
    public func subscription(organizationId: String) throws(KeyStoreError) -> SubscriptionRecord? {
        let organizationId = try validator.organizationId(organizationId)
        return try read { connection in try fetchSubscription(organizationId, connection) }
    }

    public func apply(_ event: BillingEvent) throws(KeyStoreError) -> BillingOutcome {
        let checked = try validator.billingEvent(event)
        let organizationId = checked.organizationId
        let now = self.now
        return try write { connection in
            // Events for one organization take turns: two hosts receiving the
            // same event at once apply it once, the second sees a duplicate.
            lockOrganization(organizationId, connection)
            let current = try fetchSubscription(organizationId, connection)
            let sent = checked.delivery
            /// Whether the event id was seen before, refusing it if for another event.
            func seenBefore() throws -> Bool {
                let seen = try connection.query("SELECT \(BillingDelivery.columns) FROM billing_event WHERE event_id = $1",
                                                [.text(event.eventId)])
                guard seen.count > 0 else { return false }
                try sent.checkReplay(of: BillingDelivery(
                    organizationId: seen.string(0, 0) ?? "", occurredAt: seen.int64(0, 1) ?? 0,
                    plan: seen.string(0, 2), status: seen.string(0, 3),
                    periodStart: seen.int64(0, 4), periodEnd: seen.int64(0, 5)))
                return true
            }
            if try seenBefore() { return .duplicate(current) }
            let isStale = current.map { StorageCoding.milliseconds($0.lastEventAt) > checked.occurredAt } ?? false
            // The organization's turn does not cover the id itself: another
            // organization's delivery of it (an id reused by mistake) may
            // have inserted it since the look-up. The insert then waits for
            // that transaction and inserts nothing if it commits, and the
            // id is looked up again, as it would be a moment later (not a
            // unique violation, a storage failure to the caller).
            let inserted = try connection.query("""
                INSERT INTO billing_event (event_id, received_at, outcome, \(BillingDelivery.columns))
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
                ON CONFLICT (event_id) DO NOTHING RETURNING 1
                """, [.text(event.eventId), .integer(StorageCoding.milliseconds(now)), .text(isStale ? "stale" : "applied"),
                      .text(sent.organizationId), .integer(sent.occurredAt), .of(sent.plan), .of(sent.status),
                      .of(sent.periodStart), .of(sent.periodEnd)])
            if inserted.count == 0 {
                // Read committed: the look-up sees the row the insert gave way to.
                guard try seenBefore() else { throw KeyStoreError(.storageFailure, ["reason": "other"]) }
                return .duplicate(current)
            }
            if isStale { return .stale(current) }
            let updated = checked.applied(over: current, at: now)
            connection.send("""
                INSERT INTO subscription (organization_id, plan, status, period_start, period_end, last_event_at, updated_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7)
                ON CONFLICT (organization_id) DO UPDATE SET
                    plan = excluded.plan, status = excluded.status, period_start = excluded.period_start,
                    period_end = excluded.period_end, last_event_at = excluded.last_event_at,
                    updated_at = excluded.updated_at
                """, [
                .text(organizationId), .text(updated.plan), .text(updated.status.rawValue),
                .of(updated.periodStart.map(StorageCoding.milliseconds)),
                .of(updated.periodEnd.map(StorageCoding.milliseconds)), .integer(checked.occurredAt),
                .integer(StorageCoding.milliseconds(now)),
            ])
            appendAudit(.subscriptionChanged, organizationId: organizationId, keyId: nil, actor: checked.actor,
                        details: checked.auditDetails(from: current, to: updated), at: now, connection)
            return .applied(updated)
        }
    }

    public func readings(organizationId: String, periods: [(meter: String, periodStart: Date)]) throws(KeyStoreError)
        -> [MeterReading]
    {
        try read { connection in
            try periods.map { meter, periodStart in
                let used = try connection.query(
                    Self.storedCountQuery,
                    [.text(organizationId), .text(meter), .integer(StorageCoding.milliseconds(periodStart))]
                ).int(0, 0) ?? 0
                return MeterReading(meter: meter, periodStart: periodStart, used: used)
            }
        }
    }

    /// The server checkpoints on its own.
    public func checkpoint() {}

    public func meterChanges(meter: String, after: Int64, through: Int64) throws(KeyStoreError) -> [MeterChange] {
        let rows = try read { connection in
            try connection.query("""
                SELECT organization_id, period_start, used FROM meter_usage
                WHERE version > $1 AND version <= $2 AND meter = $3
                """, [.integer(after), .integer(through), .text(meter)])
        }
        return (0..<rows.count).map { row in
            MeterChange(organizationId: rows.string(row, 0) ?? "", meter: meter,
                        periodStart: StorageCoding.date(rows.int64(row, 1) ?? 0), used: rows.int(row, 2) ?? 0)
        }
    }

    /// An idempotency key's use, and a new one: built once, not per call,
    /// as a product may record usage per operation.
    /// What is stored of an organization's (`$1`) meter (`$2`) in one
    /// period (`$3`).
    static let storedCountQuery = "SELECT used FROM meter_usage WHERE organization_id = $1 AND meter = $2 AND period_start = $3"

    static let usageRecordQuery =
        "SELECT \(UsageDelivery.columns) FROM usage_record WHERE organization_id = $1 AND idempotency_key = $2"
    static let usageRecordInsert = """
        INSERT INTO usage_record (organization_id, idempotency_key, period_start, recorded_at, \(UsageDelivery.columns))
        VALUES ($1, $2, $3, $4, $5, $6, $7)
        """

    public func add(
        _ amount: Int, to meter: String, periodStart: Date, organizationId: String, idempotencyKey: String,
        reserve: Bool, limit: Int?
    ) throws(KeyStoreError) -> (used: Int, replayed: Bool) {
        let organizationId = try validator.organizationId(organizationId)
        try validator.usageRecord(amount: amount, idempotencyKey: idempotencyKey)
        let sent = UsageDelivery(meter: meter, amount: amount, reserve: reserve)
        let start = StorageCoding.milliseconds(periodStart)
        let now = StorageCoding.milliseconds(self.now)
        return try write { connection in
            // One organization's records take turns, so two hosts cannot
            // both take the last units, nor both apply one idempotency key.
            lockOrganization(organizationId, connection)
            func used() throws -> Int {
                try connection.query(
                    Self.storedCountQuery,
                    [.text(organizationId), .text(meter), .integer(start)]
                ).int(0, 0) ?? 0
            }
            let earlier = try connection.query(Self.usageRecordQuery, [.text(organizationId), .text(idempotencyKey)])
            if earlier.count > 0 {
                try sent.checkReplay(of: UsageDelivery(
                    meter: earlier.string(0, 0) ?? "", amount: earlier.int(0, 1) ?? 0, reserve: earlier.bool(0, 2)))
                return (try used(), true)
            }
            if reserve, let limit {
                guard try used() + amount <= limit else { throw KeyStoreError(.quotaExceeded, field: "amount") }
            }
            connection.send(Self.usageRecordInsert, [.text(organizationId), .text(idempotencyKey), .integer(start),
                                                     .integer(now), .text(meter), .of(amount), .of(reserve)])
            let total = try connection.query("""
                INSERT INTO meter_usage (organization_id, meter, period_start, used) VALUES ($1, $2, $3, $4)
                ON CONFLICT (organization_id, meter, period_start) DO UPDATE SET used = meter_usage.used + excluded.used
                RETURNING used
                """, [.text(organizationId), .text(meter), .integer(start), .of(amount)]).int(0, 0) ?? amount
            return (total, false)
        }
    }

    public func liveKeyIds(organizationId: String, kinds: [String], limit: Int) throws(KeyStoreError) -> [String] {
        let arguments = Self.liveKeysArguments(organizationId, kinds: kinds, now: now) + [.of(max(0, limit))]
        let result = try read { connection in
            try connection.query("SELECT id FROM api_key WHERE \(Self.liveKeysOfKinds) ORDER BY seq LIMIT $4", arguments)
        }
        return (0..<result.count).compactMap { result.string($0, 0) }
    }

    public func nextExpiry(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Date? {
        let arguments = Self.liveKeysArguments(organizationId, kinds: kinds, now: now)
        return try read { connection in
            try connection.query("SELECT MIN(expires_at) FROM api_key WHERE \(Self.liveKeysOfKinds)", arguments).int64(0, 0)
        }.map(StorageCoding.date)
    }

    public func liveKeyCount(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Int {
        let now = self.now
        return try read { connection in try liveKeyCount(organizationId, kinds: kinds, now: now, connection) }
    }

    // MARK: Several organizations in one statement

    // One organization (a verification's own miss) through the point
    // reads above: simpler statements for the server to run.

    public func subscriptions(organizationIds: [String]) throws(KeyStoreError) -> [String: SubscriptionRecord] {
        if organizationIds.count == 1, let id = organizationIds.first {
            return try subscription(organizationId: id).map { [id: $0] } ?? [:]
        }
        let ids = try organizationIds.map { id throws(KeyStoreError) in try validator.organizationId(id) }
        let result = try read { connection in
            try connection.query("SELECT \(Self.subscriptionColumns) FROM subscription WHERE organization_id = ANY ($1::text[])",
                                 [.text(Self.textArray(ids))])
        }
        var records: [String: SubscriptionRecord] = [:]
        for row in 0..<result.count {
            let record = Self.subscription(result, row)
            records[record.organizationId] = record
        }
        return records
    }

    public func liveKeyIds(_ queries: [LiveKeyQuery]) throws(KeyStoreError) -> [[String]] {
        if queries.count == 1, let query = queries.first {
            return [try liveKeyIds(organizationId: query.organizationId, kinds: query.kinds, limit: query.limit)]
        }
        guard !queries.isEmpty else { return [] }
        // Each query's kinds as (query number, kind) pairs: arrays of
        // arrays must be rectangular.
        let pairs = queries.enumerated().flatMap { number, query in query.kinds.map { (number + 1, $0) } }
        let result = try read { connection in
            try connection.query("""
                SELECT q.n, k.id FROM unnest($1::text[], $2::bigint[]) WITH ORDINALITY AS q(organization_id, most, n)
                CROSS JOIN LATERAL (
                    SELECT id, seq FROM api_key
                    WHERE organization_id = q.organization_id AND revoked_at IS NULL
                      AND (expires_at IS NULL OR expires_at > $3)
                      AND kind IN (SELECT p.kind FROM unnest($4::bigint[], $5::text[]) AS p(n, kind) WHERE p.n = q.n)
                    ORDER BY seq LIMIT q.most
                ) k
                ORDER BY q.n, k.seq
                """, [
                .text(Self.textArray(queries.map(\.organizationId))),
                .text(Self.integerArray(queries.map { Int64(max(0, $0.limit)) })),
                .integer(StorageCoding.milliseconds(now)),
                .text(Self.integerArray(pairs.map { Int64($0.0) })), .text(Self.textArray(pairs.map(\.1))),
            ])
        }
        var ids = [[String]](repeating: [], count: queries.count)
        for row in 0..<result.count {
            if let number = result.int(row, 0), let id = result.string(row, 1) { ids[number - 1].append(id) }
        }
        return ids
    }

    public func readings(_ queries: [MeterQuery]) throws(KeyStoreError) -> [Int] {
        if queries.count == 1, let query = queries.first {
            let reading = try readings(organizationId: query.organizationId, periods: [(query.meter, query.periodStart)])
            return [reading.first?.used ?? 0]
        }
        guard !queries.isEmpty else { return [] }
        // A look-up by primary key for each query, not a join: a process's
        // statement is planned once its first few runs are, and a join
        // planned while meter_usage was empty (a new deployment) hashed
        // the whole table on every run after it had grown, 2 ms a read of
        // 8 counts with 48,000 organizations, until autovacuum's next
        // analysis made the server plan it again.
        let result = try read { connection in
            try connection.query("""
                SELECT COALESCE((SELECT m.used FROM meter_usage m
                                 WHERE m.organization_id = q.organization_id AND m.meter = q.meter
                                   AND m.period_start = q.period_start), 0)
                FROM unnest($1::text[], $2::text[], $3::bigint[]) WITH ORDINALITY AS q(organization_id, meter, period_start, n)
                ORDER BY q.n
                """, [
                .text(Self.textArray(queries.map(\.organizationId))), .text(Self.textArray(queries.map(\.meter))),
                .text(Self.integerArray(queries.map { StorageCoding.milliseconds($0.periodStart) })),
            ])
        }
        return (0..<result.count).map { result.int($0, 0) ?? 0 }
    }

    private static let subscriptionColumns =
        "organization_id, plan, status, period_start, period_end, last_event_at, updated_at"

    private func fetchSubscription(_ organizationId: String, _ connection: PGConnection) throws -> SubscriptionRecord? {
        let result = try connection.query(
            "SELECT \(Self.subscriptionColumns) FROM subscription WHERE organization_id = $1", [.text(organizationId)])
        return result.count == 1 ? Self.subscription(result, 0) : nil
    }

    /// A row of ``subscriptionColumns``.
    private static func subscription(_ result: PGResult, _ row: Int) -> SubscriptionRecord {
        SubscriptionRecord(
            organizationId: result.string(row, 0) ?? "",
            plan: result.string(row, 1) ?? "",
            status: result.string(row, 2).flatMap(SubscriptionStatus.init(rawValue:)) ?? .active,
            periodStart: result.int64(row, 3).map(StorageCoding.date),
            periodEnd: result.int64(row, 4).map(StorageCoding.date),
            lastEventAt: StorageCoding.date(result.int64(row, 5) ?? 0),
            updatedAt: StorageCoding.date(result.int64(row, 6) ?? 0))
    }
}

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

    public func carryCounts(organizationId: String, meter: String, into periodStart: Date, before periodEnd: Date?)
        throws(KeyStoreError) -> (moved: Int, used: Int)
    {
        let organizationId = try validator.organizationId(organizationId)
        let start = StorageCoding.milliseconds(periodStart)
        let later: [PGValue] = [.text(organizationId), .text(meter), .integer(start),
                                .integer(periodEnd.map(StorageCoding.milliseconds) ?? .max)]
        let laterRows = "organization_id = $1 AND meter = $2 AND period_start > $3 AND period_start < $4"
        return try write { connection in
            // The count version's row first, as a flush takes it (so the two
            // cannot wait on each other's rows), even when nothing moves: a
            // flush that wrote under a later start commits either before
            // this reads, its count then moved here, or after this commits,
            // and its process then sees the change and carries it
            // (KeygateService.rejoinLateCounts); never in between.
            _ = try connection.query("SELECT version FROM count_log WHERE id = 1 FOR UPDATE")
            guard try connection.query("SELECT count(*) FROM meter_usage WHERE \(laterRows)", later).int(0, 0) ?? 0 > 0 else {
                let used = try connection.query(
                    Self.storedCountQuery,
                    [.text(organizationId), .text(meter), .integer(start)]
                ).int(0, 0) ?? 0
                return (0, used)
            }
            // Moved as a flush moves a count: every host's verification then
            // reads the period's new count with the flushes' (meterChanges).
            let version = try connection.query("UPDATE count_log SET version = version + 1 WHERE id = 1 RETURNING version")
                .int64(0, 0) ?? 0
            let gone = try connection.query("DELETE FROM meter_usage WHERE \(laterRows) RETURNING used", later)
            let moved = (0..<gone.count).reduce(0) { $0 + (gone.int($1, 0) ?? 0) }
            let used = try connection.query("""
                INSERT INTO meter_usage (organization_id, meter, period_start, used, version) VALUES ($1, $2, $3, $4, $5)
                ON CONFLICT (organization_id, meter, period_start) DO UPDATE SET
                    used = meter_usage.used + excluded.used, version = excluded.version
                RETURNING used
                """, [.text(organizationId), .text(meter), .integer(start), .of(moved), .integer(version)]).int(0, 0) ?? moved
            return (moved, used)
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

    public func forgetDeliveries(before: Date, after cursor: DeliveryCursor?, rows: Int) throws(KeyStoreError)
        -> DeliveryForgetting
    {
        precondition(rows > 0, "a step looks at one row or more")
        let cutoff = StorageCoding.milliseconds(before)
        // A step's rows from the table's own key, and those of them that
        // go deleted where they lie, in one statement. A process applying
        // one of them at once (a retry just at the retention) finds it or
        // not, and answers a replay or counts it again, as a retention says.
        switch DeliveryStep(from: cursor) {
        case .remembered(let calls, let after):
            let step = try forget(calls, after: after, rows: rows, before: cutoff)
            return DeliveryForgetting(forgotten: step.forgotten, next: calls.next(after: step.last))
        case .billingEvents(let after):
            let step = try write { connection in
                try connection.query("""
                    WITH step AS (
                        SELECT event_id, organization_id, occurred_at, received_at FROM billing_event
                        WHERE event_id > $1 ORDER BY event_id LIMIT $2
                    ), gone AS (
                        DELETE FROM billing_event e USING step s
                        WHERE e.event_id = s.event_id AND s.received_at < $3
                            AND s.occurred_at < (SELECT last_event_at FROM subscription b WHERE b.organization_id = s.organization_id)
                        RETURNING 1
                    )
                    SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM step), (SELECT MAX(event_id) FROM step)
                    """, [.text(after ?? ""), .of(rows), .integer(cutoff)])
            }
            let next = (step.int(0, 1) ?? 0) < rows
                ? DeliveryStep.afterBillingEvents
                : step.string(0, 2).map { DeliveryCursor.billingEvent(after: $0) }
            return DeliveryForgetting(forgotten: step.int(0, 0) ?? 0, next: next)
        }
    }

    /// A step through remembered calls: up to `rows` after `after`, those
    /// received before `before` deleted. `last` is the step's last row,
    /// `nil` when it was the table's last step.
    private func forget(
        _ calls: RememberedCalls, after: (organizationId: String, idempotencyKey: String), rows: Int, before cutoff: Int64
    ) throws(KeyStoreError) -> (forgotten: Int, last: (organizationId: String, idempotencyKey: String)?) {
        let table = calls.table
        let step = try write { connection in
            try connection.query("""
                WITH step AS (
                    SELECT organization_id, idempotency_key, \(calls.receivedAt) AS received_at FROM \(table)
                    WHERE (organization_id, idempotency_key) > ($1, $2)
                    ORDER BY organization_id, idempotency_key LIMIT $3
                ), gone AS (
                    DELETE FROM \(table) u USING step s
                    WHERE u.organization_id = s.organization_id AND u.idempotency_key = s.idempotency_key
                        AND s.received_at < $4
                    RETURNING 1
                ), last AS (
                    SELECT organization_id, idempotency_key FROM step
                    ORDER BY organization_id DESC, idempotency_key DESC LIMIT 1
                )
                SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM step), organization_id, idempotency_key
                FROM (SELECT 1) one LEFT JOIN last ON true
                """, [.text(after.organizationId), .text(after.idempotencyKey), .of(rows), .integer(cutoff)])
        }
        let last = (step.int(0, 1) ?? 0) < rows ? nil : (step.string(0, 2) ?? "", step.string(0, 3) ?? "")
        return (step.int(0, 0) ?? 0, last)
    }

    public func auditLog(organizationId: String, keyId: String?, cursor: String?, limit: Int?) throws(KeyStoreError)
        -> AuditPage
    {
        let organizationId = try validator.organizationId(organizationId)
        let limit = try KeyValidator.pageSize(limit)
        let before = try cursor.map(StorageCoding.position) ?? Int64.max
        let rows = try read(listing: true) { connection in
            guard let keyId else {
                return try connection.query("""
                    SELECT id, organization_id, at, actor, action, key_id, details FROM audit_entry
                    WHERE organization_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3
                    """, [.text(organizationId), .integer(before), .of(limit + 1)])
            }
            // By the key's own index (22): its entries alone are read.
            return try connection.query("""
                SELECT id, organization_id, at, actor, action, key_id, details FROM audit_entry
                WHERE organization_id = $1 AND key_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4
                """, [.text(organizationId), .text(keyId), .integer(before), .of(limit + 1)])
        }
        let count = min(rows.count, limit)
        let entries = (0..<count).map { row in
            AuditEntry(
                id: rows.int64(row, 0) ?? 0,
                organizationId: rows.string(row, 1) ?? organizationId,
                at: StorageCoding.date(rows.int64(row, 2) ?? 0),
                actor: rows.string(row, 3) ?? "",
                action: AuditAction(rawValue: rows.string(row, 4) ?? ""),
                keyId: rows.string(row, 5),
                details: (try? JSONParser.parse(rows.string(row, 6) ?? "{}")) ?? [:])
        }
        let nextCursor = rows.count > limit ? entries.last.map { StorageCoding.cursor($0.id) } : nil
        return AuditPage(entries: entries, nextCursor: nextCursor)
    }

    public func pruneAudit(before: Date, after cursor: Int64?, entries: Int) throws(KeyStoreError) -> AuditPruning {
        precondition(entries > 0, "a step looks at one entry or more")
        // In one statement: the first entry after the cursor, and unless it
        // is kept (a pass that finds nothing reads no more), the step's
        // entries by id up to the first kept; those locked, in the order
        // of ids and skipping what another process's step holds (so two
        // passes at once neither wait on each other nor deadlock), and
        // deleted where they lie. Kept entries are read, never locked.
        let rows = try write { connection in
            try connection.query("""
                WITH first AS (
                    SELECT at FROM audit_entry WHERE id > $1 ORDER BY id LIMIT 1
                ), ahead AS (
                    SELECT id, at FROM audit_entry WHERE id > $1 AND (SELECT at FROM first) < $3 ORDER BY id LIMIT $2
                ), past AS (
                    SELECT id FROM ahead WHERE id < COALESCE((SELECT MIN(id) FROM ahead WHERE at >= $3), 9223372036854775807)
                ), step AS (
                    SELECT id FROM audit_entry WHERE id IN (SELECT id FROM past) ORDER BY id FOR UPDATE SKIP LOCKED
                ), gone AS (
                    DELETE FROM audit_entry a USING step s WHERE a.id = s.id RETURNING a.id
                )
                SELECT (SELECT COUNT(*) FROM gone), (SELECT COUNT(*) FROM past), (SELECT MAX(id) FROM past)
                """, [.integer(cursor ?? 0), .of(entries), .integer(StorageCoding.milliseconds(before))])
        }
        // A whole step past it (another pass's share of it included): the
        // next may find more.
        let whole = (rows.int(0, 1) ?? 0) == entries
        return AuditPruning(pruned: rows.int(0, 0) ?? 0, next: whole ? rows.int64(0, 2) : nil)
    }
}
