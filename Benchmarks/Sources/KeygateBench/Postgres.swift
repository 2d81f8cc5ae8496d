import Foundation

/// A value behind a lock, for the threads of one measurement.
final class Guarded<Value>: @unchecked Sendable {
    // @unchecked: `value` is only reached under `lock`.
    private let lock = NSLock()
    private var value: Value

    init(_ value: Value) {
        self.value = value
    }

    func withLock<Result>(_ body: (inout Value) -> Result) -> Result {
        lock.withLock { body(&value) }
    }
}

/// A measurement that cannot be made, and why.
struct BenchError: Error, CustomStringConvertible {
    let description: String

    init(_ description: String) {
        self.description = description
    }
}

/// The PostgreSQL rows (`--postgres`): several `keygate serve` processes on
/// one local server named by `KEYGATE_TEST_POSTGRES`, each run on a fresh
/// schema. Run them with a throwaway cluster:
///
///     Scripts/with-postgres.sh swift run -c release --package-path Benchmarks keygate-bench --postgres
struct PostgresBench: Sendable {
    let server: String
    let quick: Bool
    /// Starts `keygate serve` on a database (a path or URL) with extra arguments.
    let serve: @Sendable (String, [String]) throws -> ServeClient

    /// A URL whose connections use a new, empty schema; the statement
    /// counts (``statements()``) ready to be read. With
    /// `KEYGATE_BENCH_POOLED=1` (and `KEYGATE_POOL_MODE=transaction` for the
    /// servers it starts), a new database reached through the PgBouncer
    /// `Scripts/with-postgres.sh` runs instead: a pooler passes no schema.
    func freshSchema() throws -> String {
        let environment = ProcessInfo.processInfo.environment
        if environment["KEYGATE_BENCH_POOLED"] != nil, let pooler = environment["KEYGATE_TEST_PGBOUNCER"],
           var components = URLComponents(string: pooler)
        {
            let database = "b_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            _ = try psql(server, "CREATE DATABASE \(database)")
            components.path = "/" + database
            let url = components.string ?? pooler
            _ = try psql(url, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            return url
        }
        _ = try psql(server, "CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        let schema = "b_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        _ = try psql(server, "CREATE SCHEMA \(schema)")
        return server + (server.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)"
    }

    /// Runs SQL through psql and returns its unaligned output.
    func psql(_ url: String, _ sql: String) throws -> String {
        try run(["psql", url, "-tAc", sql]).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Runs a program found on the PATH (or at a path) and returns its output.
    func run(_ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(filePath: "/usr/bin/env")
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Statements the server has run for every client, BEGIN and COMMIT
    /// included: each is a round trip. From pg_stat_statements (which
    /// Scripts/with-postgres.sh loads), counted as each statement ends.
    /// pg_stat_database's transactions were not: a busy backend reports
    /// them at most once a second and an idle one after ten, so a count
    /// read a second after a run missed some of it and took in some of
    /// the warm-up's.
    func statements() throws -> Int {
        let sum = try psql(server, "SELECT sum(calls) FROM pg_stat_statements")
        guard let count = Int(sum) else {
            throw BenchError("no pg_stat_statements (\(sum)): run through Scripts/with-postgres.sh, which loads it")
        }
        return count
    }

    /// The statements that took the most of the server's time since
    /// pg_stat_statements was last reset (``resetStatements()``), each as
    /// its calls, rows, total milliseconds and the start of its text.
    func serverTime(top: Int) throws -> [(calls: Int, rows: Int, milliseconds: Double, text: String)] {
        let output = try psql(server, """
            SELECT calls, rows, round(total_exec_time::numeric, 1),
                   left(regexp_replace(query, '\\s+', ' ', 'g'), 72)
            FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
            ORDER BY total_exec_time DESC LIMIT \(top)
            """)
        return output.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: "|", maxSplits: 3, omittingEmptySubsequences: false)
            guard fields.count == 4, let calls = Int(fields[0]), let rows = Int(fields[1]),
                  let milliseconds = Double(fields[2]) else { return nil }
            return (calls, rows, milliseconds, String(fields[3]))
        }
    }

    /// Each table of the schema `url` names, with the rows its updates
    /// have changed so far and how many of those were HOT (the new row
    /// version on the same page, no index touched). From
    /// pg_stat_user_tables, which a backend reports at most once a second:
    /// read a second after a pass ends to hold all of it.
    func tableUpdates(_ url: String) throws -> [String: (updates: Int, hot: Int)] {
        let output = try psql(url, """
            SELECT relname, n_tup_upd, n_tup_hot_upd FROM pg_stat_user_tables
            WHERE schemaname = current_schema() ORDER BY relname
            """)
        var tables: [String: (updates: Int, hot: Int)] = [:]
        for line in output.split(separator: "\n") {
            let fields = line.split(separator: "|")
            guard fields.count == 3, let updates = Int(fields[1]), let hot = Int(fields[2]) else { continue }
            tables[String(fields[0])] = (updates, hot)
        }
        return tables
    }

    /// Forgets what pg_stat_statements counted, so that the next counts are one run's.
    func resetStatements() throws {
        _ = try psql(server, "SELECT pg_stat_statements_reset()")
    }

    func json(_ line: String) -> [String: Any] {
        ((try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]) ?? [:]
    }

    /// A Pro organization with `count` keys (25 per organization), their secrets.
    func keys(_ client: ServeClient, count: Int, rateLimit: Int, prefix: String) -> [String] {
        let organizations = (count + 24) / 25
        for organization in 0..<organizations {
            _ = client.call(#"{"jsonrpc":"2.0","id":1,"method":"subscriptions.setPlan","params":{"organizationId":"\#(prefix)_\#(organization)","plan":"pro","eventId":"evt_\#(prefix)_\#(organization)","occurredAt":"2026-11-01T00:00:00Z"}}"#)
        }
        let lines = (0..<count).map { index in
            Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"keys.create","params":{"organizationId":"\#(prefix)_\#(index / 25)","name":"k\#(index)","kind":"owner_integration","capabilities":["booking.read"],"rateLimit":\#(rateLimit)}}"#.utf8) + [0x0A]
        }
        Thread { for line in lines { client.send(line) } }.start()
        return lines.indices.map { _ in
            ((json(String(decoding: client.readLine(), as: UTF8.self))["result"] as? [String: Any])?["secret"] as? String) ?? ""
        }
    }

    func verifyLine(_ id: Int, _ secret: String) -> [UInt8] {
        Array(#"{"jsonrpc":"2.0","id":\#(id),"method":"keys.verify","params":{"key":"\#(secret)","capability":"booking.read"}}"#.utf8) + [0x0A]
    }

    /// Verifies each of `hot` once through `client`, so that its cache
    /// holds them all before a measurement.
    func warm(_ client: ServeClient, _ hot: [String]) {
        _ = client.pipelinedRate(hot.enumerated().map { id, secret in verifyLine(id, secret) })
    }

    func rows() throws -> [Row] {
        let (hot, url, admin) = try hotRows(processCounts: [1, 2, 4])
        defer { admin.stop() }
        var rows = hot
        try rows += otherRows(url, admin)
        return rows
    }

    /// The same hot verifications on SQLite and on PostgreSQL with 1, 2
    /// or 4 processes; the schema and its admin process, for the rows after.
    func hotRows(processCounts: [Int]) throws -> (rows: [Row], url: String, admin: ServeClient) {
        var rows: [Row] = []

        // The same measurement on SQLite, keys made the same way, to compare.
        let folder = FileManager.default.temporaryDirectory.appending(path: "keygate-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sqlitePath = folder.appending(path: "keygate.sqlite").path
        let sqliteAdmin = try serve(sqlitePath, [])
        let sqliteHot = keys(sqliteAdmin, count: 1_000, rateLimit: 1_000, prefix: "org_hot")
        sqliteAdmin.stop()
        let sqlite = try serve(sqlitePath, [])
        defer { sqlite.stop() }
        warm(sqlite, sqliteHot)

        // Hot keys: 1, 2 and 4 processes, pipelined, one client each.
        let url = try freshSchema()
        let admin = try serve(url, [])
        let hot = keys(admin, count: 1_000, rateLimit: 1_000, prefix: "org_hot")
        let perClient = quick ? 30_000 : 100_000
        for count in processCounts {
            let clients = try (0..<count).map { _ in try serve(url, []) }
            // Warm each process's cache first, as the SQLite rows do.
            DispatchQueue.concurrentPerform(iterations: count) { index in warm(clients[index], hot) }
            var sent = 0
            if count == 1 {
                // This machine's speed moves from one second to the next, so the
                // two stores take rounds in turn and the target holds the median
                // of the rounds' own ratios, not two windows minutes apart.
                let rounds = quick ? 3 : 5, perRound = perClient / rounds
                var sqliteRates: [Double] = [], rates: [Double] = []
                for round in 0..<rounds {
                    let ids = (round * perRound)..<((round + 1) * perRound)
                    sqliteRates.append(sqlite.pipelinedRate(ids.map { verifyLine($0, sqliteHot[($0 * 7) % sqliteHot.count]) }))
                    // Statements counted over PostgreSQL's rounds alone, as the rows with more processes count them.
                    let before = try statements()
                    rates.append(clients[0].pipelinedRate(ids.map { verifyLine($0, hot[($0 * 7) % hot.count]) }))
                    sent += try statements() - before
                }
                let ratio = Measure.medianRatio(rates, against: sqliteRates)
                rows.append(Row(name: "SQLite, for comparison: 1 serve process, hot keys, pipelined verify",
                                value: formatted(rounds: sqliteRates), target: "", met: nil))
                rows.append(Row(name: "PostgreSQL: 1 serve process, hot keys, pipelined verify",
                                value: formatted(rounds: rates), target: "", met: nil))
                rows.append(Row(name: "PostgreSQL / SQLite, 1 process, median of \(rounds) rounds in turn",
                                value: String(format: "%.2f×", ratio), target: "≥ 0.5×", met: ratio >= 0.5))
            } else {
                let before = try statements()
                let start = Measure.now()
                DispatchQueue.concurrentPerform(iterations: count) { index in
                    let client = clients[index]
                    Thread { for line in 0..<perClient { client.send(verifyLine(line, hot[(line * 7 + index) % hot.count])) } }.start()
                    for _ in 0..<perClient { _ = client.readLine() }
                }
                let total = Double(count * perClient) / (Double(Measure.now() - start) / 1e9)
                sent = try statements() - before
                rows.append(Row(name: "PostgreSQL: \(count) serve processes, hot keys, pipelined verify (total)",
                                value: formatted(total, "/s"), target: "", met: nil))
            }
            let roundTrips = Double(sent) / Double(count * perClient)
            rows.append(Row(name: "PostgreSQL: \(count) process\(count == 1 ? "" : "es"), statements per hot verification",
                            value: String(format: "%.4f (%d)", roundTrips, sent), target: "", met: nil))
            for client in clients { client.stop() }
        }
        return (rows, url, admin)
    }

    /// Creations and revocations, pipelined, one process, on `url`.
    func writeRows(_ url: String) throws -> [Row] {
        var rows: [Row] = []
        let client = try serve(url, [])
        let count = quick ? 1_000 : 5_000
        let start = Measure.now()
        _ = keys(client, count: count, rateLimit: 60, prefix: "org_create")
        let createRate = Double(count) / (Double(Measure.now() - start) / 1e9)
        rows.append(Row(name: "PostgreSQL: keys.create, pipelined (with a plan per 25 keys)", value: formatted(createRate, "/s"),
                        target: "", met: nil))
        var ids: [(String, String)] = []
        for organization in 0..<(count / 25) {
            let page = json(client.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.list","params":{"organizationId":"org_create_\#(organization)","limit":100}}"#))
            for key in ((page["result"] as? [String: Any])?["keys"] as? [[String: Any]]) ?? [] {
                ids.append(("org_create_\(organization)", key["id"] as? String ?? ""))
            }
        }
        let lines = ids.enumerated().map { index, key in
            Array(#"{"jsonrpc":"2.0","id":\#(index),"method":"keys.revoke","params":{"organizationId":"\#(key.0)","keyId":"\#(key.1)"}}"#.utf8) + [0x0A]
        }
        let revokeStart = Measure.now()
        Thread { for line in lines { client.send(line) } }.start()
        for _ in lines { _ = client.readLine() }
        let revokeRate = Double(lines.count) / (Double(Measure.now() - revokeStart) / 1e9)
        rows.append(Row(name: "PostgreSQL: keys.revoke, pipelined", value: formatted(revokeRate, "/s"), target: "", met: nil))
        client.stop()
        return rows
    }

    /// Cache misses: the first verification of each of 2,000 keys, one
    /// process, pipelined (on PostgreSQL the keys of each read are looked
    /// up together).
    func coldRows(_ url: String, _ admin: ServeClient) throws -> [Row] {
        var rows: [Row] = []
        let fresh = keys(admin, count: 2_000, rateLimit: 1_000, prefix: "org_cold")
        let client = try serve(url, [])
        let before = try statements()
        let start = Measure.now()
        Thread { for (id, secret) in fresh.enumerated() { client.send(verifyLine(id, secret)) } }.start()
        for _ in fresh { _ = client.readLine() }
        let rate = Double(fresh.count) / (Double(Measure.now() - start) / 1e9)
        let sent = try statements() - before
        let roundTrips = Double(sent) / Double(fresh.count)
        rows.append(Row(name: "PostgreSQL: first verification of each of 2,000 keys, pipelined", value: formatted(rate, "/s"),
                        target: "", met: nil))
        rows.append(Row(name: "PostgreSQL: statements per first verification", value: String(format: "%.2f (%d)", roundTrips, sent),
                        target: "", met: nil))
        client.stop()
        return rows
    }

    private func otherRows(_ url: String, _ admin: ServeClient) throws -> [Row] {
        var rows: [Row] = []

        try rows += coldRows(url, admin)

        // Staleness: from the acknowledgement of a revocation by one process
        // to the first refusal in each of three others.
        for (freshness, label) in [("notified", "notifications"), ("polled", "notifications cut (poll every second)")] {
            let gateways = try (0..<3).map { _ in try serve(url, ["--freshness", freshness]) }
            var samples: [UInt64] = []
            let trials = quick ? 10 : 40
            let secrets = keys(admin, count: trials, rateLimit: 1_000, prefix: "org_stale_\(freshness)")
            for (trial, secret) in secrets.enumerated() {
                for gateway in gateways { _ = gateway.call(String(decoding: verifyLine(0, secret).dropLast(), as: UTF8.self)) }
                let keyId = (json(admin.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.list","params":{"organizationId":"org_stale_\#(freshness)_\#(trial / 25)","limit":100}}"#))["result"] as? [String: Any])
                    .flatMap { ($0["keys"] as? [[String: Any]])?.first { ($0["hint"] as? String).map { secret.hasSuffix($0.suffix(4)) } ?? false } }?["id"] as? String ?? ""
                let acknowledged = Guarded(UInt64(0))
                let refusals = Guarded([UInt64]())
                let group = DispatchGroup()
                for gateway in gateways {
                    group.enter()
                    Thread {
                        // One at a time, until refused or 3 s.
                        let deadline = Measure.now() + 3_000_000_000
                        while Measure.now() < deadline {
                            let reply = gateway.call(String(decoding: verifyLine(1, secret).dropLast(), as: UTF8.self))
                            if reply.contains(#""code":"revoked""#) {
                                refusals.withLock { $0.append(Measure.now()) }
                                break
                            }
                        }
                        group.leave()
                    }.start()
                }
                Thread.sleep(forTimeInterval: 0.02)
                _ = admin.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.revoke","params":{"organizationId":"org_stale_\#(freshness)_\#(trial / 25)","keyId":"\#(keyId)"}}"#)
                acknowledged.withLock { $0 = Measure.now() }
                group.wait()
                let acked = acknowledged.withLock { $0 }
                samples += refusals.withLock { $0 }.map { $0 > acked ? $0 - acked : 0 }
            }
            samples.sort()
            let missing = trials * gateways.count - samples.count
            rows.append(Row(name: "PostgreSQL: revocation to refusal in 3 other processes, \(label), p50 / p99 / max",
                            value: String(format: "%.1f / %.1f / %.1f ms%@", Measure.percentile(samples, 0.5) / 1e6,
                                          Measure.percentile(samples, 0.99) / 1e6, Double(samples.last ?? 0) / 1e6,
                                          missing > 0 ? " (\(missing) never)" : ""),
                            target: freshness == "polled" ? "≤ 1.1 s (poll 1 s)" : "", met: freshness == "polled" ? (samples.last ?? 0) <= 1_100_000_000 && missing == 0 : nil))
            for gateway in gateways { gateway.stop() }
        }

        // One 60-per-minute key, 4 processes as fast as they can.
        do {
            let clients = try (0..<4).map { _ in try serve(url, []) }
            let secret = keys(clients[0], count: 1, rateLimit: 60, prefix: "org_limited")[0]
            let seconds = quick ? 20.0 : 120.0
            let answered = Guarded(0)
            let start = Date()
            DispatchQueue.concurrentPerform(iterations: clients.count) { index in
                let client = clients[index]
                var id = 0
                var valid = 0
                while Date().timeIntervalSince(start) < seconds {
                    for _ in 0..<200 {
                        client.send(verifyLine(id, secret))
                        id += 1
                    }
                    for _ in 0..<200 where String(decoding: client.readLine(), as: UTF8.self).contains(#""valid":true"#) { valid += 1 }
                }
                answered.withLock { $0 += valid }
            }
            let allowance = 60 + Int(Date().timeIntervalSince(start))
            let accepted = answered.withLock { $0 }
            rows.append(Row(name: "PostgreSQL: 4 processes on one 60/min key for \(Int(seconds)) s: accepted / allowance",
                            value: "\(accepted) / \(allowance) (over \(max(0, accepted - allowance)), under \(max(0, allowance - accepted)))",
                            target: "over = 0", met: accepted <= allowance + 1))
            // Every process writes its counts on a clean stop: stored = answered.
            for client in clients { client.stop() }
            let reader = try serve(url, [])
            let stored = usage(reader, secret: secret, organization: "org_limited_0")
            rows.append(Row(name: "PostgreSQL: usage stored / answered valid, after a clean stop of 4 processes",
                            value: "\(stored) / \(accepted)", target: "equal", met: stored == accepted))
            reader.stop()
        }

        // Usage after a kill -9: counted at most once, lost at most the last second.
        do {
            let victim = try serve(url, [])
            let secret = keys(victim, count: 1, rateLimit: 1_000, prefix: "org_killed")[0]
            var valid = 0
            for id in 0..<500 where victim.call(String(decoding: verifyLine(id, secret).dropLast(), as: UTF8.self)).contains(#""valid":true"#) {
                valid += 1
            }
            Thread.sleep(forTimeInterval: 1.5)
            for id in 0..<200 where victim.call(String(decoding: verifyLine(id, secret).dropLast(), as: UTF8.self)).contains(#""valid":true"#) {
                valid += 1
            }
            victim.kill()
            let reader = try serve(url, [])
            let stored = usage(reader, secret: secret, organization: "org_killed_0")
            rows.append(Row(name: "PostgreSQL: usage stored / answered valid, after kill -9 (the last second may be lost)",
                            value: "\(stored) / \(valid)", target: "≤ answered", met: stored <= valid))
            reader.stop()
        }

        try rows += writeRows(url)

        // Start-up to the first answer, schema already migrated.
        var startups: [UInt64] = []
        for _ in 0..<7 {
            let start = Measure.now()
            let client = try serve(url, [])
            _ = client.call(#"{"jsonrpc":"2.0","id":1,"method":"catalog.plans"}"#)
            startups.append(Measure.now() - start)
            client.stop()
        }
        startups.sort()
        let startup = Double(startups[3]) / 1e6
        rows.append(Row(name: "PostgreSQL: start of keygate serve to its first answer (median)", value: String(format: "%.0f ms", startup),
                        target: "≤ 150 ms", met: startup <= 150))
        return rows
    }

    /// A key's stored valid count, through keys.get.
    func usage(_ client: ServeClient, secret: String, organization: String) -> Int {
        let page = json(client.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.list","params":{"organizationId":"\#(organization)","limit":100}}"#))
        let keys = ((page["result"] as? [String: Any])?["keys"] as? [[String: Any]]) ?? []
        let key = keys.first { ($0["hint"] as? String).map { secret.hasSuffix($0.suffix(4)) } ?? false }
        return ((key?["usage"] as? [String: Any])?["valid"] as? Int) ?? -1
    }
}
