import Foundation
public import KeyStore
import KeygateJSON

extension PostgresKeyStorage {
    public func appendEvent(_ event: NewEvent) throws(KeyStoreError) {
        let event = try validator.event(event)
        let now = self.now
        try write { connection in insertEvent(event, at: now, connection) }
    }

    public func events(organizationId: String?, types: Set<EventType>?, after cursor: String?, limit: Int?)
        throws(KeyStoreError) -> EventPage
    {
        let organizationId = try organizationId.map { id throws(KeyStoreError) in try validator.organizationId(id) }
        let limit = try KeyValidator.pageSize(limit)
        let after = try cursor.map(StorageCoding.position) ?? 0
        let columns = "seq, id, type, organization_id, at, key_id, data"
        let ofOrganization = organizationId == nil ? "" : "organization_id = $4 AND"
        var scan = EventScan(types: types, limit: limit)
        let rows = try read(listing: true) { connection in
            guard let types else {
                if let organizationId {
                    return try connection.query("""
                        SELECT \(columns) FROM outbox_event WHERE organization_id = $1 AND seq > $2 ORDER BY seq LIMIT $3
                        """, [.text(organizationId), .integer(after), .of(scan.rows)])
                }
                return try connection.query("SELECT \(columns) FROM outbox_event WHERE seq > $1 ORDER BY seq LIMIT $2",
                                            [.integer(after), .of(scan.rows)])
            }
            // The scan's stretch, cut on the server where the page is
            // decided (one event of the types past the limit): the rows of
            // other types come without their data, as only their position
            // and type are read.
            let arguments: [PGValue] = [.integer(after), .of(scan.rows), .text(Self.textArray(types.map(\.rawValue)))]
            return try connection.query("""
                SELECT \(columns) FROM (
                    SELECT seq, id, type, organization_id, at, key_id, CASE WHEN wanted THEN data END AS data,
                        count(*) FILTER (WHERE wanted) OVER (ORDER BY seq) - CASE WHEN wanted THEN 1 ELSE 0 END AS before
                    FROM (SELECT *, type = ANY ($3::text[]) AS wanted FROM outbox_event
                          WHERE \(ofOrganization) seq > $1 ORDER BY seq LIMIT $2) stretch
                ) counted
                WHERE before <= $\(organizationId == nil ? 4 : 5) ORDER BY seq
                """, arguments + (organizationId.map { [.text($0)] } ?? []) + [.of(limit)])
        }
        // Whether the sweep deleted events after the cursor that a reader
        // there never read. Asked after the page, in a later snapshot: a
        // deletion the page missed is seen with its mark (at worst a
        // pruning in between is reported though the page had its events).
        if after > 0 {
            let mark = try read(listing: true) { connection in
                try connection.query("SELECT through FROM outbox_pruned WHERE organization_id = $1", [.text(organizationId ?? "")])
            }
            if mark.count > 0, let through = mark.int64(0, 0), through > after {
                throw KeyStoreError(.cursorExpired, field: "cursor")
            }
        }
        var events: [OutboxEvent] = []
        reading: for row in 0..<rows.count {
            let type = EventType(rawValue: rows.string(row, 2) ?? "")
            switch scan.visit(position: rows.int64(row, 0) ?? 0, type: type) {
            case .keep:
                events.append(OutboxEvent(
                    id: rows.string(row, 1) ?? "", type: type,
                    organizationId: rows.string(row, 3) ?? "", at: StorageCoding.date(rows.int64(row, 4) ?? 0),
                    keyId: rows.string(row, 5), data: (try? JSONParser.parse(rows.string(row, 6) ?? "{}")) ?? [:],
                    cursor: StorageCoding.cursor(rows.int64(row, 0) ?? 0)))
            case .skip: continue
            case .stop: break reading
            }
        }
        return scan.page(events, after: cursor)
    }

    public func sweepEvents(_ schedule: EventSchedule) throws(KeyStoreError) -> Int {
        let now = self.now
        let milliseconds = StorageCoding.milliseconds(now)
        return try write { connection in
            // Oldest first by position: the walk stops at the first event to
            // keep. How far each organization's events, and all events
            // (''), are pruned is recorded in the deletion's commit: a
            // cursor before it is told. Another process pruning at once
            // records no less, as a mark only rises.
            try connection.query("""
                WITH kept AS (
                    SELECT COALESCE((SELECT seq FROM outbox_event WHERE at >= $1 ORDER BY seq LIMIT 1), 9223372036854775807) AS seq
                ), marked AS (
                    INSERT INTO outbox_pruned (organization_id, through)
                    SELECT organization_id, MAX(e.seq) FROM outbox_event e, kept WHERE e.seq < kept.seq GROUP BY organization_id
                    UNION ALL
                    SELECT '', through FROM (SELECT MAX(e.seq) AS through FROM outbox_event e, kept WHERE e.seq < kept.seq) a
                    WHERE through IS NOT NULL
                    ORDER BY 1   -- the marks' rows locked in one order in every process: no deadlock
                    ON CONFLICT (organization_id) DO UPDATE SET through = GREATEST(outbox_pruned.through, EXCLUDED.through)
                )
                DELETE FROM outbox_event USING kept WHERE outbox_event.seq < kept.seq
                """, [.integer(StorageCoding.milliseconds(now.addingTimeInterval(-schedule.retention)))])
            // Keys whose expiry is within the notice or the retention and
            // that lack the event they are due (most have it already).
            let rows = try connection.query("""
                SELECT \(Self.keyColumns) FROM api_key k
                WHERE k.expires_at > $1 AND k.expires_at <= $2 AND k.revoked_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM outbox_event WHERE once =
                      CASE WHEN k.expires_at <= $3 THEN 'expired:' ELSE 'expiring:' END || k.id || ':' || k.expires_at)
                """, [
                .integer(StorageCoding.milliseconds(now.addingTimeInterval(-schedule.retention))),
                .integer(StorageCoding.milliseconds(now.addingTimeInterval(schedule.expiryNotice))), .integer(milliseconds),
            ])
            var written = 0
            for row in 0..<rows.count {
                for event in Self.key(rows, row).expiryEvents(at: now, schedule) {
                    written += try insertEventIfNew(event, at: now, connection)
                }
            }
            return written
        }
    }

    /// Writes an event inside the caller's transaction, its position taken
    /// from the head row (held until commit). Queued: its error is the
    /// transaction's.
    func insertEvent(_ event: NewEvent, at now: Date, _ connection: PGConnection) {
        connection.send(Self.insertEventSQL, Self.eventArguments(event, at: now))
    }

    /// Writes an event as ``insertEvent(_:at:_:)`` does, and waits to say
    /// whether it was new: 1, or 0 when its `once` key was used before.
    func insertEventIfNew(_ event: NewEvent, at now: Date, _ connection: PGConnection) throws -> Int {
        try connection.query(Self.insertEventSQL, Self.eventArguments(event, at: now)).count
    }

    private static let insertEventSQL = """
        WITH head AS (UPDATE outbox_head SET position = position + 1 WHERE id = 1 RETURNING position)
        INSERT INTO outbox_event (seq, id, organization_id, type, at, key_id, data, once)
        SELECT position, $1, $2, $3, $4, $5, $6, $7 FROM head
        ON CONFLICT (once) WHERE once IS NOT NULL DO NOTHING
        RETURNING seq
        """

    private static func eventArguments(_ event: NewEvent, at now: Date) -> [PGValue] {
        [
            .text(NewEvent.newId(at: now)), .text(event.organizationId), .text(event.type.rawValue),
            .integer(StorageCoding.milliseconds(now)), .of(event.keyId), .text(JSON.auditText(event.data)), .of(event.once),
        ]
    }
}
