import Foundation
import GRDB
import KeygateJSON

extension SQLiteKeyStorage {
    public func appendEvent(_ event: NewEvent) throws(KeyStoreError) {
        let event = try validator.event(event)
        let now = self.now
        _ = try write { db in try insertEvent(event, at: now, db) }
    }

    public func events(organizationId: String?, types: Set<EventType>?, after cursor: String?, limit: Int?)
        throws(KeyStoreError) -> EventPage
    {
        let organizationId = try organizationId.map { id throws(KeyStoreError) in try validator.organizationId(id) }
        let limit = try KeyValidator.pageSize(limit)
        let after = try cursor.map(StorageCoding.position) ?? 0
        // The rows are read in order (lazily: only a kept row's columns
        // are decoded) until the scan has decided its page.
        var scan = EventScan(types: types, limit: limit)
        let rows = scan.rows
        let (events, expired) = try read { db in
            let statement = try db.cachedStatement(sql: organizationId == nil
                ? "SELECT * FROM outbox_event WHERE seq > ? ORDER BY seq LIMIT ?"
                : "SELECT * FROM outbox_event WHERE organization_id = ? AND seq > ? ORDER BY seq LIMIT ?")
            let arguments: StatementArguments = organizationId.map { [$0, after, rows] } ?? [after, rows]
            let cursor = try Row.fetchCursor(statement, arguments: arguments)
            var events: [OutboxEvent] = []
            reading: while let row = try cursor.next() {
                switch scan.visit(position: row["seq"], type: EventType(rawValue: row["type"])) {
                case .keep: events.append(Self.event(row))
                case .skip: continue
                case .stop: break reading
                }
            }
            return (events, try Self.pruned(past: after, of: organizationId, db))
        }
        if expired { throw KeyStoreError(.cursorExpired, field: "cursor") }
        return scan.page(events, after: cursor)
    }

    /// Whether the sweep deleted events of the organization (or of any,
    /// `nil`) after `position`, which a reader there never read. Read in
    /// the page's transaction, so a deletion is seen with its mark.
    private static func pruned(past position: Int64, of organizationId: String?, _ db: Database) throws -> Bool {
        guard position > 0 else { return false }
        let through = try Int64.fetchOne(db.cachedStatement(sql: "SELECT through FROM outbox_pruned WHERE organization_id = ?"),
                                         arguments: [organizationId ?? ""])
        return through.map { $0 > position } ?? false
    }

    private static func event(_ row: Row) -> OutboxEvent {
        OutboxEvent(
            id: row["id"], type: EventType(rawValue: row["type"]), organizationId: row["organization_id"],
            at: StorageCoding.date(row["at"]), keyId: row["key_id"],
            data: (try? JSONParser.parse(row["data"] as String)) ?? [:], cursor: StorageCoding.cursor(row["seq"]))
    }

    public func sweepEvents(_ schedule: EventSchedule) throws(KeyStoreError) -> Int {
        let now = self.now
        return try write { db in
            // Oldest first by position: the walk stops at the first event to keep.
            let kept = try Int64.fetchOne(db.cachedStatement(sql: """
                    SELECT IFNULL((SELECT seq FROM outbox_event WHERE at >= ? ORDER BY seq LIMIT 1), 9223372036854775807)
                    """), arguments: [StorageCoding.milliseconds(now.addingTimeInterval(-schedule.retention))]) ?? .max
            // How far each organization's events, and all events (''), are
            // pruned, in the deletion's commit: a cursor before it is told.
            try db.cachedStatement(sql: """
                INSERT INTO outbox_pruned (organization_id, through)
                SELECT organization_id, MAX(seq) FROM outbox_event WHERE seq < ?1 GROUP BY organization_id
                UNION ALL
                SELECT '', through FROM (SELECT MAX(seq) AS through FROM outbox_event WHERE seq < ?1) WHERE through IS NOT NULL
                ON CONFLICT (organization_id) DO UPDATE SET through = MAX(through, excluded.through)
                """).execute(arguments: [kept])
            try db.cachedStatement(sql: "DELETE FROM outbox_event WHERE seq < ?").execute(arguments: [kept])
            // Keys whose expiry is within the notice or the retention and
            // that lack an event they are due (most have both already).
            let rows = try Row.fetchAll(db.cachedStatement(sql: """
                    SELECT \(StorageCoding.keyColumns) FROM api_key k
                    WHERE k.expires_at > :from AND k.expires_at <= :until AND k.revoked_at IS NULL
                      AND NOT EXISTS (SELECT 1 FROM outbox_event WHERE once =
                          CASE WHEN k.expires_at <= :now THEN 'expired:' ELSE 'expiring:' END || k.id || ':' || k.expires_at)
                    """),
                arguments: ["from": StorageCoding.milliseconds(now.addingTimeInterval(-schedule.retention)),
                            "until": StorageCoding.milliseconds(now.addingTimeInterval(schedule.expiryNotice)),
                            "now": StorageCoding.milliseconds(now)])
            var written = 0
            for row in rows {
                for event in StorageCoding.key(row).expiryEvents(at: now, schedule) {
                    written += try insertEvent(event, at: now, db)
                }
            }
            return written
        }
    }

    /// Writes an event inside the caller's transaction; returns 1, or 0
    /// when its `once` key was used before.
    @discardableResult
    func insertEvent(_ event: NewEvent, at now: Date, _ db: Database) throws -> Int {
        try db.run(cached: """
                INSERT INTO outbox_event (id, organization_id, type, at, key_id, data, once) VALUES (?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (once) WHERE once IS NOT NULL DO NOTHING
                """) { row in
            RawStatement.firstFailure(
                row.bind(1, text: NewEvent.newId(at: now)), row.bind(2, text: event.organizationId),
                row.bind(3, text: event.type.rawValue), row.bind(4, int: StorageCoding.milliseconds(now)),
                row.bind(5, text: event.keyId), row.bind(6, text: JSON.auditText(event.data)), row.bind(7, text: event.once))
        }
        return db.changesCount
    }
}
