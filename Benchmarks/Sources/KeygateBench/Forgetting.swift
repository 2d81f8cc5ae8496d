import Foundation
import KeyStore
import KeyStorePostgres

/// What forgetting quiet keys' rate-limit state costs on PostgreSQL
/// (`--forget` under Scripts/with-postgres.sh): `rows` rows of the
/// `rate_limit` table at tags spread as keys' are, every other one quiet
/// for two hours, then a pass that forgets those (what `keygate serve`'s
/// first pass does on a table that held every key ever verified) and a
/// pass that finds none (what the hourly passes cost after); and what a
/// reservation costs the server, through pgbench on 1,000 keys' rows.
func forgetRowsPostgres(_ bench: PostgresBench, rows: Int) throws -> [Row] {
    let url = try bench.freshSchema()
    let store = try PostgresKeyStorage(url: url, rules: KeyRules(format: KeyFormat(prefix: "kg", environments: ["live"]),
                                                                 kinds: [], capabilities: []))
    let now = GCRA.microseconds(Date())
    let hour: Int64 = 3_600_000_000
    _ = try bench.psql(url, """
        INSERT INTO rate_limit (tag, arrival)
        SELECT ('x' || substr(md5(g::text), 1, 16))::bit(64)::bigint,
               CASE WHEN g % 2 = 0 THEN \(now - 2 * hour) ELSE \(now + 30_000_000) END
        FROM generate_series(1, \(rows)) g
        ON CONFLICT (tag) DO NOTHING
        """)
    _ = try bench.psql(url, "VACUUM ANALYZE rate_limit")
    let stored = Int(try bench.psql(url, "SELECT count(*) FROM rate_limit")) ?? rows
    let bytes = Double(try bench.psql(url, "SELECT pg_total_relation_size('rate_limit')")) ?? 0
    func pass() throws -> (seconds: Double, forgotten: Int, steps: Int) {
        var cursor: Int64?
        var (forgotten, steps) = (0, 0)
        let began = Measure.now()
        repeat {
            let step = try store.forgetIdleRateLimits(before: now - hour, after: cursor, entries: 10_000)
            (forgotten, cursor, steps) = (forgotten + step.forgotten, step.next, steps + 1)
        } while cursor != nil
        return (Double(Measure.now() - began) / 1e9, forgotten, steps)
    }
    let forgetting = try pass()
    let quiet = try pass()
    guard forgetting.forgotten >= stored / 2 - 1, quiet.forgotten == 0 else {
        throw BenchError("forgot \(forgetting.forgotten) then \(quiet.forgotten) of \(stored) rows")
    }
    let count = stored.formatted()
    var table = [
        Row(name: "rate-limit table, PostgreSQL, \(count) keys' rows (heap and index)",
            value: String(format: "%.0f MB, %.0f bytes a key", bytes / 1e6, bytes / Double(stored)), target: "", met: nil),
        Row(name: "rate-limit forgetting pass, PostgreSQL, \(count) keys' rows, half quiet",
            value: String(format: "%.2f s, %.0f ms a step of 10,000 rows", forgetting.seconds,
                          forgetting.seconds / Double(forgetting.steps) * 1e3), target: "", met: nil),
        Row(name: "rate-limit forgetting pass, PostgreSQL, \((stored - forgetting.forgotten).formatted()) rows in use",
            value: String(format: "%.2f s, %.1f µs a row", quiet.seconds, quiet.seconds / Double(stored - forgetting.forgotten) * 1e6),
            target: "", met: nil),
    ]
    table.append(try leaseRow(bench, url: url))
    return table
}

/// Reservations of 1,000 keys in use, one at a time on one connection
/// (each its own transaction, as a key's read or a worker's batch sends
/// them), through pgbench with prepared statements for 10 seconds.
private func leaseRow(_ bench: PostgresBench, url: String) throws -> Row {
    let script = FileManager.default.temporaryDirectory.appending(path: "keygate-lease-\(UUID().uuidString).sql")
    defer { try? FileManager.default.removeItem(at: script) }
    try """
        \\set tag random(1, 1000)
        SELECT * FROM keygate_lease(:tag, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint, 60000, 4, 1, 0);
        """.write(to: script, atomically: true, encoding: .utf8)
    let bindir = try bench.run(["pg_config", "--bindir"]).trimmingCharacters(in: .whitespacesAndNewlines)
    let pgbench = FileManager.default.isExecutableFile(atPath: bindir + "/pgbench") ? bindir + "/pgbench" : "pgbench"
    let output = try bench.run([pgbench, "-n", "-M", "prepared", "-T", "10", "-f", script.path, url])
    guard let line = output.split(separator: "\n").first(where: { $0.hasPrefix("tps = ") }),
          let rate = Double(line.dropFirst("tps = ".count).prefix { !$0.isWhitespace })
    else { throw BenchError("pgbench said: \(output)") }
    return Row(name: "PostgreSQL: a reservation (keygate_lease), 1,000 keys in use, one connection",
               value: String(format: "%.0f /s, %.0f µs each", rate, 1e6 / rate), target: "", met: nil)
}
