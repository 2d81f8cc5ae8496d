public import Foundation
import GRDB
import KeygateJSON

extension SQLiteKeyStorage: SubscriptionStorage {
    public func subscription(organizationId: String) throws(KeyStoreError) -> SubscriptionRecord? {
        let organizationId = try validator.organizationId(organizationId)
        if let reader = verificationReader {
            return try Self.reading { () throws(SQLiteFailure) in try reader.subscription(organizationId: organizationId) }
        }
        return try lookup { db in try fetchSubscription(organizationId, db) }
    }

    public func apply(_ event: BillingEvent) throws(KeyStoreError) -> BillingOutcome {
        let checked = try validator.billingEvent(event)
        let organizationId = checked.organizationId
        let now = self.now
        return try write { db in
            let current = try fetchSubscription(organizationId, db)
            // Cached statements: billing sends events one by one, and the
            // subscription's statement compiles its change triggers in
            // (about 130,000 instructions a preparation; docs/PERFORMANCE.md).
            let seen = try db.cachedStatement(sql: "SELECT \(BillingDelivery.columns) FROM billing_event WHERE event_id = ?")
            let sent = checked.delivery
            if let first = try Row.fetchOne(seen, arguments: [event.eventId]) {
                try sent.checkReplay(of: BillingDelivery(
                    organizationId: first[0], occurredAt: first[1], plan: first[2], status: first[3],
                    periodStart: first[4], periodEnd: first[5]))
                return .duplicate(current)
            }
            let isStale = current.map { StorageCoding.milliseconds($0.lastEventAt) > checked.occurredAt } ?? false
            try db.cachedStatement(sql: """
                    INSERT INTO billing_event (event_id, received_at, outcome, \(BillingDelivery.columns))
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """).execute(arguments: [event.eventId, StorageCoding.milliseconds(now), isStale ? "stale" : "applied",
                                             sent.organizationId, sent.occurredAt, sent.plan, sent.status,
                                             sent.periodStart, sent.periodEnd])
            if isStale { return .stale(current) }
            let updated = checked.applied(over: current, at: now)
            try db.cachedStatement(sql: """
                    INSERT INTO subscription (organization_id, plan, status, period_start, period_end, last_event_at, updated_at)
                    VALUES (?, ?, ?, ?, ?, ?, ?)
                    ON CONFLICT (organization_id) DO UPDATE SET
                        plan = excluded.plan, status = excluded.status, period_start = excluded.period_start,
                        period_end = excluded.period_end, last_event_at = excluded.last_event_at,
                        updated_at = excluded.updated_at
                    """).execute(arguments: [organizationId, updated.plan, updated.status.rawValue,
                                             updated.periodStart.map(StorageCoding.milliseconds),
                                             updated.periodEnd.map(StorageCoding.milliseconds), checked.occurredAt,
                                             StorageCoding.milliseconds(now)])
            try appendAudit(.subscriptionChanged, organizationId: organizationId, keyId: nil, actor: checked.actor,
                            details: checked.auditDetails(from: current, to: updated), at: now, db)
            return .applied(updated)
        }
    }

    public func readings(organizationId: String, periods: [(meter: String, periodStart: Date)]) throws(KeyStoreError)
        -> [MeterReading]
    {
        if let reader = verificationReader {
            return try Self.reading { () throws(SQLiteFailure) in
                try periods.map { (meter, periodStart) throws(SQLiteFailure) in
                    let used = try reader.used(organizationId: organizationId, meter: meter,
                                               periodStart: StorageCoding.milliseconds(periodStart))
                    return MeterReading(meter: meter, periodStart: periodStart, used: used ?? 0)
                }
            }
        }
        return try lookup { db in
            let statement = try db.cachedStatement(sql: Self.storedCountQuery)
            return try periods.map { meter, periodStart in
                let used = try Int.fetchOne(
                    statement, arguments: [organizationId, meter, StorageCoding.milliseconds(periodStart)]) ?? 0
                return MeterReading(meter: meter, periodStart: periodStart, used: used)
            }
        }
    }

    /// What is stored of an organization's (`?1`) meter (`?2`) in one
    /// period (`?3`): the reader, the fallback and `usage.record` read it
    /// alike.
    static let storedCountQuery = "SELECT used FROM meter_usage WHERE organization_id = ?1 AND meter = ?2 AND period_start = ?3"

    /// An idempotency key's use, and a new one: built once, not per call,
    /// as a product may record usage per operation.
    static let usageRecordQuery =
        "SELECT \(UsageDelivery.columns) FROM usage_record WHERE organization_id = ? AND idempotency_key = ?"
    static let usageRecordInsert = """
        INSERT INTO usage_record (organization_id, idempotency_key, period_start, recorded_at, \(UsageDelivery.columns))
        VALUES (?, ?, ?, ?, ?, ?, ?)
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
        return try write { db in
            // Cached statements, as a product may record usage per operation.
            let storedCount = try db.cachedStatement(sql: Self.storedCountQuery)
            if let earlier = try Row.fetchOne(
                db.cachedStatement(sql: Self.usageRecordQuery), arguments: [organizationId, idempotencyKey])
            {
                try sent.checkReplay(of: UsageDelivery(meter: earlier[0], amount: earlier[1], reserve: earlier[2]))
                return (try Int.fetchOne(storedCount, arguments: [organizationId, meter, start]) ?? 0, true)
            }
            if reserve, let limit {
                // Checked in the same write transaction as the insert, so two
                // reservations cannot both take the last units.
                let stored = try Int.fetchOne(storedCount, arguments: [organizationId, meter, start]) ?? 0
                guard stored + amount <= limit else { throw KeyStoreError(.quotaExceeded, field: "amount") }
            }
            try db.cachedStatement(sql: Self.usageRecordInsert)
                .execute(arguments: [organizationId, idempotencyKey, start, now, meter, amount, reserve])
            let total = try Int.fetchOne(
                db.cachedStatement(sql: """
                    INSERT INTO meter_usage (organization_id, meter, period_start, used) VALUES (?, ?, ?, ?)
                    ON CONFLICT (organization_id, meter, period_start) DO UPDATE SET used = used + excluded.used
                    RETURNING used
                    """),
                arguments: [organizationId, meter, start, amount]) ?? amount
            return (total, false)
        }
    }

    public func carryCounts(organizationId: String, meter: String, into periodStart: Date, before periodEnd: Date?)
        throws(KeyStoreError) -> (moved: Int, used: Int)
    {
        let organizationId = try validator.organizationId(organizationId)
        let start = StorageCoding.milliseconds(periodStart)
        let end = periodEnd.map(StorageCoding.milliseconds) ?? .max
        return try write { db in
            let gone = try Int.fetchAll(db, sql: """
                DELETE FROM meter_usage
                WHERE organization_id = ?1 AND meter = ?2 AND period_start > ?3 AND period_start < ?4
                RETURNING used
                """, arguments: [organizationId, meter, start, end])
            guard !gone.isEmpty else {
                let used = try Int.fetchOne(db.cachedStatement(sql: Self.storedCountQuery),
                                            arguments: [organizationId, meter, start]) ?? 0
                return (0, used)
            }
            let moved = gone.reduce(0, +)
            // As a flush moves a count: every process's verification then
            // reads the period's new count with the flushes' (meterChanges).
            let version = try Int64.fetchOne(db, sql: "UPDATE count_log SET version = version + 1 RETURNING version") ?? 0
            let used = try Int.fetchOne(db, sql: Self.addToMeterQuery, arguments: [organizationId, meter, start, moved, version])
                ?? moved
            return (moved, used)
        }
    }

    public func forgetDeliveries(before: Date, after cursor: DeliveryCursor?, rows: Int) throws(KeyStoreError)
        -> DeliveryForgetting
    {
        precondition(rows > 0, "a step looks at one row or more")
        let cutoff = StorageCoding.milliseconds(before)
        return try write { db in
            // A step's rows from the table's own key, each marked whether
            // it goes: a pass reads each row once, whatever it forgets.
            switch DeliveryStep(from: cursor) {
            case .remembered(let calls, let after):
                let step = try Self.forget(calls, after: after, rows: rows, before: cutoff, db)
                return DeliveryForgetting(forgotten: step.forgotten, next: calls.next(after: step.last))
            case .billingEvents(let after):
                let step = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT event_id, received_at < ?2
                        AND occurred_at < (SELECT last_event_at FROM subscription s WHERE s.organization_id = e.organization_id)
                    FROM billing_event e WHERE event_id > ?1 ORDER BY event_id LIMIT ?3
                    """), arguments: [after ?? "", cutoff, rows])
                let forget = try db.cachedStatement(sql: "DELETE FROM billing_event WHERE event_id = ?")
                var forgotten = 0
                for row in step where (row[1] as Bool?) == true {
                    try forget.execute(arguments: [row[0] as String])
                    forgotten += 1
                }
                return DeliveryForgetting(
                    forgotten: forgotten,
                    next: step.count < rows ? DeliveryStep.afterBillingEvents : .billingEvent(after: step[rows - 1][0]))
            }
        }
    }

    /// A step through remembered calls: up to `rows` after `after`, those
    /// received before `before` deleted. `last` is the step's last row,
    /// `nil` when it was the table's last step.
    private static func forget(
        _ calls: RememberedCalls, after: (organizationId: String, idempotencyKey: String), rows: Int,
        before cutoff: Int64, _ db: Database
    ) throws -> (forgotten: Int, last: (organizationId: String, idempotencyKey: String)?) {
        let table = calls.table
        let step = try Row.fetchAll(db.cachedStatement(sql: """
            SELECT organization_id, idempotency_key, \(calls.receivedAt) < ?3 FROM \(table)
            WHERE (organization_id, idempotency_key) > (?1, ?2)
            ORDER BY organization_id, idempotency_key LIMIT ?4
            """), arguments: [after.organizationId, after.idempotencyKey, cutoff, rows])
        let forget = try db.cachedStatement(sql: "DELETE FROM \(table) WHERE organization_id = ? AND idempotency_key = ?")
        var forgotten = 0
        for row in step where row[2] as Bool {
            try forget.execute(arguments: [row[0] as String, row[1] as String])
            forgotten += 1
        }
        return (forgotten, step.count < rows ? nil : (step[rows - 1][0], step[rows - 1][1]))
    }

    public func liveKeyIds(organizationId: String, kinds: [String], limit: Int) throws(KeyStoreError) -> [String] {
        if let reader = verificationReader {
            let (kinds, now) = (Self.kindList(kinds), StorageCoding.milliseconds(now))
            return try Self.reading { () throws(SQLiteFailure) in
                try reader.liveKeyIds(organizationId: organizationId, kinds: kinds, now: now, limit: max(0, limit))
            }
        }
        var arguments = Self.liveKeysArguments(organizationId, kinds: kinds, now: now)
        arguments += ["limit": max(0, limit)]
        return try lookup { db in
            try String.fetchAll(db.cachedStatement(sql: Self.liveKeyIdsQuery), arguments: arguments)
        }
    }

    public func nextExpiry(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Date? {
        if let reader = verificationReader {
            let (kinds, now) = (Self.kindList(kinds), StorageCoding.milliseconds(now))
            return try Self.reading { () throws(SQLiteFailure) in
                try reader.nextExpiry(organizationId: organizationId, kinds: kinds, now: now)
            }.map(StorageCoding.date)
        }
        let arguments = Self.liveKeysArguments(organizationId, kinds: kinds, now: now)
        return try lookup { db in
            try Int64.fetchOne(db.cachedStatement(sql: Self.nextExpiryQuery), arguments: arguments)
        }.map(StorageCoding.date)
    }

    /// The ids of an organization's oldest live keys of some kinds, up to
    /// `:limit`; the reader and the fallback read the same.
    static let liveKeyIdsQuery = "SELECT id FROM api_key WHERE \(liveKeysOfKinds) ORDER BY seq LIMIT :limit"

    /// The earliest expiry among an organization's live keys of some kinds.
    static let nextExpiryQuery = "SELECT MIN(expires_at) FROM api_key WHERE \(liveKeysOfKinds)"

    public func liveKeyCount(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Int {
        let now = self.now
        return try read { db in try liveKeyCount(organizationId, kinds: kinds, now: now, db) }
    }

    private func fetchSubscription(_ organizationId: String, _ db: Database) throws -> SubscriptionRecord? {
        try db.query(cached: Self.subscriptionQuery) { statement in
            statement.bind(1, text: organizationId)
        } read: { (statement) throws(SQLiteFailure) -> SubscriptionRecord? in
            try statement.step() ? Self.subscription(statement) : nil
        }
    }

    /// An organization's subscription, bound with its id.
    static let subscriptionQuery = "SELECT \(subscriptionColumns) FROM subscription WHERE organization_id = ?"

    /// The subscription on the row `statement` stands on, read from ``subscriptionColumns``.
    static func subscription(_ statement: RawStatement) -> SubscriptionRecord {
        subscription(organizationId: statement.text(0), plan: statement.text(1), status: statement.text(2),
                     periodStart: statement.int(3), periodEnd: statement.int(4), lastEventAt: statement.int(5) ?? 0,
                     updatedAt: statement.int(6) ?? 0)
    }

    /// The columns of a subscription, in the order
    /// ``subscription(organizationId:plan:status:periodStart:periodEnd:lastEventAt:updatedAt:)`` takes them.
    static let subscriptionColumns = "organization_id, plan, status, period_start, period_end, last_event_at, updated_at"

    /// A subscription from its stored columns.
    static func subscription(organizationId: String, plan: String, status: String, periodStart: Int64?, periodEnd: Int64?,
                             lastEventAt: Int64, updatedAt: Int64) -> SubscriptionRecord {
        SubscriptionRecord(
            organizationId: organizationId, plan: plan, status: SubscriptionStatus(rawValue: status) ?? .active,
            periodStart: periodStart.map(StorageCoding.date), periodEnd: periodEnd.map(StorageCoding.date),
            lastEventAt: StorageCoding.date(lastEventAt), updatedAt: StorageCoding.date(updatedAt))
    }
}
