import Foundation
import PlanCatalog

/// `--soak [MINUTES]`: realistic traffic through one `keygate serve` over
/// the million-key fixture, pass after pass, each with draws of its own,
/// for about MINUTES (30 by default). After each pass: its rate, the
/// server's CPU time per request, its resident memory, and the sizes of
/// the database's log and the usage file with its log.
///
/// What an operator wants to know before leaving a process up for weeks,
/// and what two passes (the full run's row) cannot show: that memory, CPU
/// per request and the files level off instead of growing with the
/// traffic served. Each pass draws new made-up keys (1%) and keys the
/// passes before did not, so the cache keeps taking keys in and evicting
/// others, as it does all day.
func soak(minutes: Double, fixture: KeyFixture, secrets: [String], catalog: PlanCatalog, server: ServeClient) {
    let deadline = Date().addingTimeInterval(minutes * 60)
    var samples: [(pass: Int, resident: Double)] = []
    print("pass  requests/s  serve CPU µs/request  resident MiB  peak MiB  log MiB  usage file + log MiB")
    var pass = 0
    while pass == 0 || Date() < deadline {
        pass += 1
        let lines = Traffic(secrets: secrets, count: 1_000_000, catalog: catalog, seed: 10_000 + UInt64(pass)).lines()
        let cpuBefore = processorSeconds(of: server.process.processIdentifier)
        let rate = server.pipelinedRate(lines)
        let cpu = processorSeconds(of: server.process.processIdentifier) - cpuBefore
        let memory = server.memory()
        samples.append((pass, memory.resident))
        let usage = fileMiB(fixture.path + "-usage") + fileMiB(fixture.path + "-usage-wal")
        print(String(format: "%4d  %10.0f  %20.2f  %12.0f  %8.0f  %7.1f  %20.1f", pass, rate, cpu / Double(lines.count) * 1e6,
                     memory.resident, memory.peak, fileMiB(fixture.path + "-wal"), usage))
    }
    // The first pass fills the cache; growth is what comes after it.
    if let first = samples.dropFirst().first, let last = samples.last, let highest = samples.dropFirst().map(\.resident).max() {
        print(String(format: "resident memory after pass %d: %.0f MiB; after pass %d: %.0f MiB; highest from pass %d on: %.0f MiB",
                     first.pass, first.resident, last.pass, last.resident, first.pass, highest))
    }
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
