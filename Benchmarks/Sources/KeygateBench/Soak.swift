import Foundation
import PlanCatalog

/// `--soak [MINUTES]`: realistic traffic through one `keygate serve` over
/// the million-key fixture, pass after pass, each with draws of its own,
/// for about MINUTES (30 by default). After each pass: its rate, the
/// server's CPU time per request, its resident memory, and what the store
/// holds on disk (`store`, under the heading `storeHeading`): on SQLite
/// the sizes of the database's log and the usage file with its log
/// (``sqliteSoakColumns(_:)``); on PostgreSQL (`--postgres --soak`) the
/// usage tables and the statements sent per request.
///
/// What an operator wants to know before leaving a process up for weeks,
/// and what two passes (the full run's row) cannot show: that memory, CPU
/// per request and the files level off instead of growing with the
/// traffic served. Each pass draws new made-up keys (1%) and keys the
/// passes before did not, so the cache keeps taking keys in and evicting
/// others, as it does all day.
func soak(minutes: Double, secrets: [String], catalog: PlanCatalog, server: ServeClient,
          storeHeading: String, store: (_ requests: Int) -> String) {
    let deadline = Date().addingTimeInterval(minutes * 60)
    var samples: [(pass: Int, resident: Double)] = []
    print("pass  requests/s  serve CPU µs/request  resident MiB  peak MiB  \(storeHeading)")
    var pass = 0
    while pass == 0 || Date() < deadline {
        pass += 1
        let lines = Traffic(secrets: secrets, count: 1_000_000, catalog: catalog, seed: 10_000 + UInt64(pass)).lines()
        let cpuBefore = processorSeconds(of: server.process.processIdentifier)
        let rate = server.pipelinedRate(lines)
        let cpu = processorSeconds(of: server.process.processIdentifier) - cpuBefore
        let memory = server.memory()
        samples.append((pass, memory.resident))
        print(String(format: "%4d  %10.0f  %20.2f  %12.0f  %8.0f  ", pass, rate, cpu / Double(lines.count) * 1e6,
                     memory.resident, memory.peak) + store(lines.count))
    }
    // The first pass fills the cache; growth is what comes after it.
    if let first = samples.dropFirst().first, let last = samples.last, let highest = samples.dropFirst().map(\.resident).max() {
        print(String(format: "resident memory after pass %d: %.0f MiB; after pass %d: %.0f MiB; highest from pass %d on: %.0f MiB",
                     first.pass, first.resident, last.pass, last.resident, first.pass, highest))
    }
}

/// The SQLite soak's columns: the database's log, and the usage file with its own.
func sqliteSoakColumns(_ fixture: KeyFixture) -> (heading: String, store: (Int) -> String) {
    ("log MiB  usage file + log MiB", { _ in
        String(format: "%7.1f  %20.1f", fileMiB(fixture.path + "-wal"),
               fileMiB(fixture.path + "-usage") + fileMiB(fixture.path + "-usage-wal"))
    })
}

/// The PostgreSQL soak's columns: the usage tables (a row per key and day,
/// and per key, day and outcome or capability), the change log, the whole
/// database, and the statements the server ran per request of the pass.
func postgresSoakColumns(_ bench: PostgresBench, url: String) throws -> (heading: String, store: (Int) -> String) {
    var statements = try bench.statements()
    let sizes = """
        SELECT round(pg_total_relation_size('key_usage_day') / 1048576.0, 1) || ' '
            || round(pg_total_relation_size('key_usage_count') / 1048576.0, 1) || ' '
            || (SELECT count(*) FROM change_event) || ' '
            || round(pg_database_size(current_database()) / 1048576.0, 1)
        """
    return ("usage days MiB  usage counts MiB  change entries  database MiB  statements/request", { requests in
        let now = (try? bench.statements()) ?? statements
        defer { statements = now }
        let columns = ((try? bench.psql(url, sizes)) ?? "").split(separator: " ").map(String.init)
        guard columns.count == 4 else { return "(sizes unread)" }
        func padded(_ text: String, _ width: Int) -> String { String(repeating: " ", count: max(0, width - text.count)) + text }
        return [padded(columns[0], 14), padded(columns[1], 16), padded(columns[2], 14), padded(columns[3], 12),
                String(format: "%18.3f", Double(now - statements) / Double(requests))].joined(separator: "  ")
    })
}

/// A process's user and system CPU time so far, in seconds (Linux).
private func processorSeconds(of pid: Int32) -> Double {
    guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
        let end = stat.lastIndex(of: ")")
    else { return 0 }
    // The fields after the command's name, which may hold spaces: state is
    // field 3, user time 14 and system time 15, in clock ticks.
    let fields = stat[stat.index(after: end)...].split(separator: " ")
    guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
    return (user + system) / Double(sysconf(Int32(_SC_CLK_TCK)))
}

private func fileMiB(_ path: String) -> Double {
    Double((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0) / 1_048_576
}
