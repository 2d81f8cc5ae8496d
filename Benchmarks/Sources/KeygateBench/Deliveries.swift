import Foundation
import GRDB
import KeyStore
import KeyStorePostgres

/// What `--idempotency-retention-days` costs (`--deliveries`; on
/// PostgreSQL too under Scripts/with-postgres.sh): a store holding `uses`
/// uses of 1,000 organizations under keys of 32 characters, every other
/// one recorded 40 days ago, and a tenth as many billing event ids, every
/// other one 40 days old and older than its organization's last; then a
/// pass that forgets those past a 30-day retention (what the first pass
/// does on a database that kept them for good) and one that finds nothing
/// (what the hourly passes cost after).
func deliveryRows(uses: Int) throws -> [Row] {
    try withScratchDatabase("deliveries") { path in
        let store = try SQLiteKeyStorage(path: path, rules: retentionRules)
        let queue = try DatabaseQueue(path: path)
        // A transaction a table: this process keeps statement journals in
        // memory up to 1 MiB (SQLiteProcess), and SQLite 3.40 fails one that
        // grows past it with SQLITE_FULL rather than move it to a file.
        for statement in deliveriesSQL(uses: uses).components(separatedBy: ";\n") {
            try queue.write { db in try db.execute(sql: statement) }
        }
        try queue.close()
        return try deliveryTable(store, uses: uses, name: "SQLite")
    }
}

func deliveryRowsPostgres(_ bench: PostgresBench, uses: Int) throws -> [Row] {
    let url = try bench.freshSchema()
    let store = try PostgresKeyStorage(url: url, rules: retentionRules)
    _ = try bench.psql(url, deliveriesSQL(uses: uses, series: "generate_series(0, %d) g(n)")
        + "; ANALYZE usage_record, billing_event, subscription")
    return try deliveryTable(store, uses: uses, name: "PostgreSQL")
}

/// The rows, by SQL either store runs: `series` names a table of `n`
/// from 0 to the given bound (SQLite: a recursive view of its own).
private func deliveriesSQL(uses: Int, series: String? = nil) -> String {
    func numbers(_ last: Int) -> String {
        series.map { String(format: $0, last) } ?? "(WITH RECURSIVE c(n) AS (SELECT 0 UNION ALL SELECT n + 1 FROM c WHERE n < \(last)) SELECT n FROM c) g"
    }
    let events = uses / 10
    return """
        INSERT INTO usage_record (organization_id, idempotency_key, period_start, recorded_at, meter, amount)
        SELECT 'org_' || (n % 1000), \(series == nil ? "printf('%032d', n)" : "lpad(n::text, 32, '0')"), 0,
               CASE WHEN n % 2 = 0 THEN \(retentionNow - fortyDays) ELSE \(retentionNow) END, 'bookings', 1
        FROM \(numbers(uses - 1));
        INSERT INTO subscription (organization_id, plan, status, last_event_at, updated_at)
        SELECT 'org_' || n, 'pro', 'active', \(retentionNow), \(retentionNow) FROM \(numbers(999));
        INSERT INTO billing_event (event_id, organization_id, occurred_at, received_at, outcome)
        SELECT 'evt_' || n, 'org_' || (n % 1000),
               CASE WHEN n % 2 = 0 THEN \(retentionNow - fortyDays) ELSE \(retentionNow) END,
               CASE WHEN n % 2 = 0 THEN \(retentionNow - fortyDays) ELSE \(retentionNow) END, 'applied'
        FROM \(numbers(events - 1))
        """
}

private func deliveryTable(_ store: any KeygateStorage, uses: Int, name: String) throws -> [Row] {
    let before = Date(timeIntervalSince1970: TimeInterval(retentionNow) / 1_000 - 30 * 86_400)
    func pass() throws -> (seconds: Double, forgotten: Int, steps: Int) {
        var cursor: DeliveryCursor?
        var (forgotten, steps) = (0, 0)
        let began = Measure.now()
        repeat {
            let step = try store.forgetDeliveries(before: before, after: cursor, rows: 1_000)
            (forgotten, cursor, steps) = (forgotten + step.forgotten, step.next, steps + 1)
        } while cursor != nil
        return (Double(Measure.now() - began) / 1e9, forgotten, steps)
    }
    let rows = uses + uses / 10
    let forgetting = try pass()
    let idle = try pass()
    guard forgetting.forgotten == rows / 2, idle.forgotten == 0 else {
        throw BenchError("forgot \(forgetting.forgotten) then \(idle.forgotten) of \(rows) rows")
    }
    let count = "\(uses.formatted()) uses and \((uses / 10).formatted()) billing event ids"
    return [
        Row(name: "idempotency forgetting pass, \(name), \(count), half past the retention",
            value: String(format: "%.2f s, %.1f µs a row, %.0f ms a step of 1,000 rows", forgetting.seconds,
                          forgetting.seconds / Double(rows) * 1e6, forgetting.seconds / Double(forgetting.steps) * 1e3),
            target: "", met: nil),
        Row(name: "idempotency forgetting pass, \(name), \((rows - forgetting.forgotten).formatted()) rows within it",
            value: String(format: "%.2f s, %.1f µs a row, %.0f ms a step of 1,000 rows", idle.seconds,
                          idle.seconds / Double(rows - forgetting.forgotten) * 1e6, idle.seconds / Double(idle.steps) * 1e3),
            target: "", met: nil),
    ]
}
