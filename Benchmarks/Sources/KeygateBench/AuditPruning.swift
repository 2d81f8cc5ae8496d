import Foundation
import GRDB
import KeyStore
import KeyStorePostgres
import KeygateService

/// What `--audit-retention-days` costs (`--audit-prune`; on PostgreSQL too
/// under Scripts/with-postgres.sh): a store holding `entries` audit entries
/// of 1,000 organizations, each with details as large as a key creation's,
/// the older half written 40 days ago; then a pass that prunes those past a
/// 30-day retention in steps of `keygate serve`'s size (what the first pass
/// does on a log kept for good), one that finds nothing just after, one
/// that finds nothing an hour later (what the hourly passes cost, here a
/// moment later: PostgreSQL's first read after a deletion steps over what
/// it deleted until vacuumed), and the bytes an entry takes (what the log
/// grows by while it is kept for good).
func auditPruningRows(entries: Int) throws -> [Row] {
    try withScratchDatabase("audit") { path in
        let store = try SQLiteKeyStorage(path: path, rules: retentionRules)
        let queue = try DatabaseQueue(path: path)
        func size() throws -> Int {
            try queue.read { db in try Int.fetchOne(db, sql: "SELECT SUM(pgsize) FROM dbstat WHERE name LIKE 'audit_entry%'") ?? 0 }
        }
        let empty = try size()
        // Chunks of 100,000: this process keeps statement journals in memory
        // up to 1 MiB (SQLiteProcess), past which SQLite 3.40 fails with SQLITE_FULL.
        for first in stride(from: 0, to: entries, by: 100_000) {
            try queue.write { db in
                try db.execute(sql: auditSQL(from: first, to: min(first + 100_000, entries) - 1, old: entries / 2))
            }
        }
        let bytes = Double(try size() - empty) / Double(entries)
        try queue.close()
        return try auditPruningTable(store, entries: entries, bytes: bytes, name: "SQLite")
    }
}

func auditPruningRowsPostgres(_ bench: PostgresBench, entries: Int) throws -> [Row] {
    let url = try bench.freshSchema()
    let store = try PostgresKeyStorage(url: url, rules: retentionRules)
    let size = "SELECT pg_total_relation_size('audit_entry')"
    let empty = Int(try bench.psql(url, size).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    _ = try bench.psql(url, auditSQL(from: 0, to: entries - 1, old: entries / 2, series: "generate_series(%d, %d) g(n)") + "; ANALYZE audit_entry")
    let full = Int(try bench.psql(url, size).trimmingCharacters(in: .whitespacesAndNewlines)) ?? 0
    return try auditPruningTable(store, entries: entries, bytes: Double(full - empty) / Double(entries), name: "PostgreSQL")
}

/// Entries `first` through `last`, by SQL either store runs: `series`
/// names a table of `n` between two bounds (SQLite: a recursive view of
/// its own). The `old` first of all come first, as a log written over
/// time holds them.
func auditSQL(from first: Int, to last: Int, old: Int, series: String? = nil) -> String {
    let numbers = series.map { String(format: $0, first, last) }
        ?? "(WITH RECURSIVE c(n) AS (SELECT \(first) UNION ALL SELECT n + 1 FROM c WHERE n < \(last)) SELECT n FROM c) g"
    let details = #"{"capabilities":["booking.read","booking.write"],"environment":"live","kind":"owner_integration","name":"Zapier","rateLimit":60}"#
    return """
        INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
        SELECT 'org_' || (n % 1000), CASE WHEN n < \(old) THEN \(retentionNow - fortyDays) ELSE \(retentionNow) END, 'user_1',
               'key.created', 'key_' || n || 'aBcDeFgHiJkLmNoP', '\(details)'
        FROM \(numbers)
        """
}

private func auditPruningTable(_ store: any KeygateStorage, entries: Int, bytes: Double, name: String) throws -> [Row] {
    let before = Date(timeIntervalSince1970: TimeInterval(retentionNow) / 1_000 - 30 * 86_400)
    func pass() throws -> (seconds: Double, pruned: Int, steps: Int) {
        var cursor: Int64?
        var (pruned, steps) = (0, 0)
        let began = Measure.now()
        repeat {
            let step = try store.pruneAudit(before: before, after: cursor, entries: KeygateService.auditPruningStep)
            (pruned, cursor, steps) = (pruned + step.pruned, step.next, steps + 1)
        } while cursor != nil
        return (Double(Measure.now() - began) / 1e9, pruned, steps)
    }
    let pruning = try pass()
    let idle = try pass()
    let later = try pass()
    guard pruning.pruned == entries / 2, idle.pruned == 0, later.pruned == 0 else {
        throw BenchError("pruned \(pruning.pruned) then \(idle.pruned) of \(entries) entries")
    }
    let step = KeygateService.auditPruningStep
    return [
        Row(name: "audit entry, \(name), as large as a key creation's", value: String(format: "%.0f bytes", bytes),
            target: "", met: nil),
        Row(name: "audit pruning pass, \(name), \(entries.formatted()) entries, \(pruning.pruned.formatted()) past the retention",
            value: String(format: "%.2f s, %.1f µs an entry, %.1f ms a step of %d entries", pruning.seconds,
                          pruning.seconds / Double(max(pruning.pruned, 1)) * 1e6,
                          pruning.seconds / Double(pruning.steps) * 1e3, step),
            target: "", met: nil),
        Row(name: "audit pruning pass, \(name), nothing past the retention, just after",
            value: String(format: "%.2f ms, %d step", idle.seconds * 1e3, idle.steps), target: "", met: nil),
        Row(name: "audit pruning pass, \(name), nothing past the retention, the pass after",
            value: String(format: "%.2f ms, %d step", later.seconds * 1e3, later.steps), target: "", met: nil),
    ]
}
