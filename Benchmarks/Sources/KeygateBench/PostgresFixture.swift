import Foundation
import KeyStore
import KeyStorePostgres
import PlanCatalog

/// ``KeyFixture``'s keys on PostgreSQL: organizations of 20 keys each on
/// Pro, every key `owner_integration` with a limit of 1,000 a minute, ids
/// `key_bench<index>` in organizations `org_<index / 20>`, so that
/// ``Traffic`` runs on either store unchanged.
///
/// Built on a fresh schema of the throwaway server for each run (the
/// cluster lives as long as `Scripts/with-postgres.sh`): the schema
/// migrated as a first host migrates it, then the rows copied in with one
/// `COPY` per table. Creating a million keys through `keys.create` or
/// `keygate import` (5–7k keys a second) would take minutes.
struct PostgresKeyFixture {
    let url: String
    /// Every key's secret, in key order.
    let secrets: [String]
    /// A thousand keys spread over the table, as ``KeyFixture/hotSecrets``.
    let hotSecrets: [String]

    static func prepare(_ bench: PostgresBench, keys count: Int, catalog: PlanCatalog) throws -> PostgresKeyFixture {
        let began = Date()
        let url = try bench.freshSchema()
        do { _ = try PostgresKeyStorage(url: url, rules: KeyRules(catalog: catalog)) }
        let format = KeyFormat(catalog: catalog)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        let stride = max(1, count / 1_000)
        var secrets: [String] = []
        secrets.reserveCapacity(count)
        var keys = "", digests = "", subscriptions = ""
        for index in 0..<count {
            let raw = format.generate(environment: "live").unredacted
            let parsed = try format.parse(raw)
            let organization = "org_\(index / KeyFixture.keysPerOrganization)"
            if index % KeyFixture.keysPerOrganization == 0 { subscriptions += "\(organization)\tpro\tactive\t0\t\(now)\n" }
            keys += "key_bench\(index)\t\(organization)\tbench \(index)\towner_integration\tbooking.read booking.create\tlive\t\(parsed.hint)\t1000\t\(now)\n"
            // COPY's text format reads `\\` as one backslash: bytea's hex input `\x…`.
            digests += "\\\\x\(hex(parsed.digest.bytes))\tkey_bench\(index)\n"
            secrets.append(raw)
        }
        // The change log's triggers (and the foreign keys' checks) stand
        // aside for the load, as for a restored dump: no process has seen
        // the schema, so no process needs to hear of these keys, and a
        // million change entries would only be pruned again.
        let script = """
            \\set ON_ERROR_STOP on
            BEGIN;
            SET LOCAL session_replication_role = replica;
            COPY subscription (organization_id, plan, status, last_event_at, updated_at) FROM STDIN;
            \(subscriptions)\\.
            COPY api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit, created_at) FROM STDIN;
            \(keys)\\.
            COPY key_secret (digest, key_id) FROM STDIN;
            \(digests)\\.
            COMMIT;
            VACUUM ANALYZE subscription, api_key, key_secret;

            """
        let file = FileManager.default.temporaryDirectory.appending(path: "keygate-fixture-\(UUID().uuidString).sql")
        try Data(script.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        _ = try bench.run(["psql", url, "-q", "-f", file.path])
        let loaded = try bench.psql(url, "SELECT count(*) FROM key_secret")
        guard loaded == String(count) else { throw BenchError("the fixture holds \(loaded) of \(count) keys") }
        log("PostgreSQL fixture of \(count) keys built in \(String(format: "%.1f", Date().timeIntervalSince(began))) s")
        return PostgresKeyFixture(url: url, secrets: secrets,
                                  hotSecrets: Swift.stride(from: 0, to: count, by: stride).map { secrets[$0] })
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        return String(decoding: bytes.flatMap { [digits[Int($0 >> 4)], digits[Int($0 & 0x0F)]] }, as: UTF8.self)
    }
}

/// `--postgres --realistic`: the realistic traffic of the SQLite rows
/// (``Traffic``: a million keys drawn Zipf-like, 1% made-up keys, a
/// change per 1,000) through one `keygate serve` on PostgreSQL, pipelined,
/// against the hot keys of the same database through another; with the
/// statements the server ran per request and the answers' outcomes, the
/// five statements that took most of the server's time, and each table's
/// updated rows with the share that stayed on their page (HOT).
func postgresRealisticRows(_ bench: PostgresBench) throws -> [Row] {
    let fixture = try PostgresKeyFixture.prepare(bench, keys: 1_000_000, catalog: catalog)
    var rows: [Row] = []
    func statementsPerRequest(_ requests: Int, _ body: () -> Double) throws -> (rate: Double, statements: Double) {
        let before = try bench.statements()
        let rate = body()
        return (rate, Double(try bench.statements() - before) / Double(requests))
    }

    let hotServer = try bench.serve(fixture.url, [])
    bench.warm(hotServer, fixture.hotSecrets)
    let hotLines = (0..<200_000).map { bench.verifyLine($0, fixture.hotSecrets[($0 * 7) % fixture.hotSecrets.count]) }
    let hot = try statementsPerRequest(hotLines.count) { hotServer.pipelinedRate(hotLines) }
    hotServer.stop()
    rows.append(Row(name: "PostgreSQL: hot keys of a million, over a pipe, pipelined", value: formatted(hot.rate, "/s"),
                    target: "", met: nil))

    let server = try bench.serve(fixture.url, [])
    for (pass, seed) in realisticPasses() {
        let lines = Traffic(secrets: fixture.secrets, count: 1_000_000, catalog: catalog, seed: seed).lines()
        var outcomes: [String: Int] = [:]
        try bench.resetStatements()
        let updatedBefore = try bench.tableUpdates(fixture.url)
        let measured = try statementsPerRequest(lines.count) {
            server.pipelinedRate(lines) { reply in outcomes[outcome(of: reply), default: 0] += 1 }
        }
        rows.append(Row(name: "PostgreSQL: realistic traffic, pass \(pass), over a pipe, pipelined",
                        value: formatted(measured.rate, "/s") + String(format: " (%.2f× hot)", measured.rate / hot.rate),
                        target: "", met: nil))
        rows.append(Row(name: "PostgreSQL: realistic traffic, pass \(pass), statements per request; answers",
                        value: String(format: "%.4f; ", measured.statements)
                            + outcomes.sorted { $0.value > $1.value }.map { "\($0.key) \($0.value)" }.joined(separator: ", "),
                        target: "", met: nil))
        // Where the server's time went: per call, and per row for the
        // statements that read or reserve for many keys at once.
        for statement in try bench.serverTime(top: 5) {
            let perRow = statement.rows > statement.calls
                ? String(format: ", %.1f µs a row", statement.milliseconds * 1_000 / Double(statement.rows)) : ""
            rows.append(Row(name: "PostgreSQL: pass \(pass), server time: \(statement.text)",
                            value: String(format: "%.0f ms, %d calls, %.1f µs each, %d rows",
                                          statement.milliseconds, statement.calls,
                                          statement.milliseconds * 1_000 / Double(max(1, statement.calls)), statement.rows)
                                + perRow,
                            target: "", met: nil))
        }
        // Which tables' updates stayed on their page: an update that is
        // not HOT writes every index of its table again.
        Thread.sleep(forTimeInterval: 1.1)
        for (table, now) in try bench.tableUpdates(fixture.url).sorted(by: { $0.key < $1.key }) {
            let updates = now.updates - (updatedBefore[table]?.updates ?? 0)
            guard updates > 0 else { continue }
            let hot = now.hot - (updatedBefore[table]?.hot ?? 0)
            rows.append(Row(name: "PostgreSQL: pass \(pass), rows updated in \(table)",
                            value: String(format: "%d, %.0f%% HOT", updates, Double(hot) * 100 / Double(updates)),
                            target: "", met: nil))
        }
    }
    let memory = server.memory()
    server.stop()
    rows.append(Row(name: "PostgreSQL: serve's resident memory after both passes (peak)",
                    value: String(format: "%.0f MiB (%.0f MiB)", memory.resident, memory.peak), target: "", met: nil))
    return rows
}

/// A reply's outcome: `valid`, a refusal's code, or `updated` for a change.
private func outcome(of reply: ArraySlice<UInt8>) -> String {
    let text = String(decoding: reply, as: UTF8.self)
    if text.contains(#""valid":true"#) { return "valid" }
    if let range = text.range(of: #""code":""#) {
        return String(text[range.upperBound...].prefix { $0 != "\"" })
    }
    return text.contains(#""error""#) ? "error" : "updated"
}
