public import Foundation
public import KeyStore

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
}
