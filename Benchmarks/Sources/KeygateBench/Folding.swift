import Foundation
import GRDB
import KeyStore
import KeyStorePostgres

/// What `--usage-retention-days` costs on SQLite: a store whose `keys`
/// keys were each used on each of 60 days (a day's row and two breakdown
/// counts each, written as the flush writes them), then a folding pass
/// that finds 30 days of each key past the retention (what a pass does
/// once a month for every key), and one that finds none (what the hourly
/// passes in between cost).
func foldRows(keys: Int) throws -> [Row] {
    let (folding, idle) = try foldPasses(keys: keys) { ids, days in
        let folder = FileManager.default.temporaryDirectory.appending(path: "keygate-fold-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let path = folder.appending(path: "keygate.sqlite").path
        let store = try SQLiteKeyStorage(path: path, rules: retentionRules)
        // The keys themselves, by SQL: a folding step deletes the counts
        // of keys the database does not have.
        try DatabaseQueue(path: path).write { db in
            let insert = try db.makeStatement(sql: """
                INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit, created_at)
                VALUES (?, 'org_fold', 'k', 'owner_integration', 'booking.read', 'live', 'kg_live_…abcd', 60, 0)
                """)
            for id in ids { try insert.execute(arguments: [id]) }
        }
        // Written as the flush writes them, a batch of 1,000 keys a transaction.
        for date in days {
            for batch in stride(from: 0, to: ids.count, by: 1_000) {
                try store.flush(usage: ids[batch..<min(ids.count, batch + 1_000)].map { id in
                    UsageIncrement(keyId: id, day: date, valid: 40, invalid: 1, lastUsedAt: date.addingTimeInterval(3_600),
                                   lastOrigin: "https://app.example.com", lastIP: "203.0.113.7",
                                   refusals: ["rate_limited": 1], capabilities: ["booking.read": 41])
                }, meters: [], identity: UUID().uuidString)
            }
        }
        return (store, { try? FileManager.default.removeItem(at: folder) })
    }
    return foldTable(folding, idle, keys: keys, store: "SQLite")
}

/// The same on PostgreSQL (`--fold` under Scripts/with-postgres.sh): the
/// keys and their days written by SQL on a fresh schema, then folded
/// through the store.
func foldRowsPostgres(_ bench: PostgresBench, keys: Int) throws -> [Row] {
    let (folding, idle) = try foldPasses(keys: keys) { ids, days in
        let url = try bench.freshSchema()
        let store = try PostgresKeyStorage(url: url, rules: retentionRules)
        _ = try bench.psql(url, """
            INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit, created_at)
            SELECT 'key_' || lpad(g::text, 20, '0'), 'org_fold', 'k', 'owner_integration', 'booking.read', 'live',
                   'kg_live_…abcd', 60, 0
            FROM generate_series(0, \(ids.count - 1)) g;
            INSERT INTO key_usage_day (key_id, day, valid, invalid, last_used_at, last_origin, last_ip)
            SELECT k.id, to_char(date '2026-01-01' + d, 'YYYY-MM-DD'), 40, 1,
                   1767225600000 + d * 86400000::bigint + 3600000, 'https://app.example.com', '203.0.113.7'
            FROM api_key k, generate_series(0, \(days.count - 1)) d;
            INSERT INTO key_usage_count (key_id, day, dimension, name, count)
            SELECT u.key_id, u.day, c.dimension, c.name, c.count FROM key_usage_day u,
                   (VALUES ('capability', 'booking.read', 41), ('outcome', 'rate_limited', 1)) AS c (dimension, name, count);
            ANALYZE api_key, key_usage_day, key_usage_count;
            """)
        return (store, {})
    }
    return foldTable(folding, idle, keys: keys, store: "PostgreSQL")
}

private typealias FoldPass = (seconds: Double, folded: Int, steps: Int)

/// Makes a store with `keys` keys each used on 60 days (`prepare`), then
/// runs a pass that folds 30 days of each and one that folds nothing.
private func foldPasses(keys: Int, prepare: ([String], [Date]) throws -> (any KeyStorage, () -> Void)) throws
    -> (FoldPass, FoldPass)
{
    let start = Date(timeIntervalSince1970: 1_767_225_600)  // 2026-01-01
    let ids = (0..<keys).map { String(format: "key_%020d", $0) }
    let (store, cleanUp) = try prepare(ids, (0..<60).map { start.addingTimeInterval(TimeInterval($0) * 86_400) })
    defer { cleanUp() }
    let before = start.addingTimeInterval(30 * 86_400)
    func pass() throws -> FoldPass {
        var cursor: String?
        var folded = 0
        var steps = 0
        let began = Measure.now()
        repeat {
            let step = try store.foldUsage(before: before, due: before, after: cursor, keys: 1_000)
            folded += step.folded
            cursor = step.next
            steps += 1
        } while cursor != nil
        return (Double(Measure.now() - began) / 1e9, folded, steps)
    }
    let folding = try pass()
    guard folding.folded == keys * 30 else { throw BenchError("folded \(folding.folded) key-days, not \(keys * 30)") }
    let idle = try pass()
    // Every key's counts still there: a step deleted none as a key gone.
    let kept = try store.usageDays(organizationId: "org_fold", keyId: nil, from: before, to: before).first?.valid
    guard kept == keys * 40 else { throw BenchError("\(kept ?? 0) verifications kept on the first day after the folded ones") }
    return (folding, idle)
}

private func foldTable(_ folding: FoldPass, _ idle: FoldPass, keys: Int, store: String) -> [Row] {
    let count = keys.formatted()
    return [
        Row(name: "usage folding pass, \(store), \(count) keys with 30 days each past the retention",
            value: String(format: "%.2f s, %.1f µs a key-day, %.0f ms a step of 1,000 keys", folding.seconds,
                          folding.seconds / Double(max(1, folding.folded)) * 1e6, folding.seconds / Double(folding.steps) * 1e3),
            target: "", met: nil),
        Row(name: "usage folding pass, \(store), \(count) keys with nothing to fold",
            value: String(format: "%.3f s, %.1f µs a key", idle.seconds, idle.seconds / Double(keys) * 1e6), target: "", met: nil),
    ]
}
