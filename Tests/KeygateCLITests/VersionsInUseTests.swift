import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// While an upgrade rolls through, each process says which others on the
/// database still run another version of keygate, and says when none does.
@Suite("Processes running other versions")
struct VersionsInUseTests {
    @Test(arguments: Backend.available) func anotherVersionIsSaidOnceAndItsEndToo(_ backend: Backend) throws {
        let first = try ServeProcess(on: backend)
        #expect(first.finish() == 0)
        // What a process of an earlier version records (the row it would keep fresh while it runs).
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live"]), kinds: [], capabilities: [])
        _ = try first.openStorage(rules: rules).recordSettings([
            SettingInUse(name: "keygate-version", value: "0.4.0", host: "web-7", processId: 4242),
        ], within: 3)

        let serve = try ServeProcess(sharing: first, arguments: ["--event-sweep-seconds", "1", "--log-level", "debug"])
        let said = "another process on this database runs another version of keygate"
        #expect(serve.logs(said), "\(serve.stderr)")
        #expect(serve.stderr.contains("otherHost=web-7 otherProcess=4242 otherVersion=0.4.0"), "\(serve.stderr)")
        // Not refreshed: three sweeps on, that process no longer runs.
        #expect(serve.logs("every process on this database that recorded its settings lately runs this version of keygate"),
                "\(serve.stderr)")
        #expect(serve.stderr.components(separatedBy: said).count - 1 == 1, "said once: \(serve.stderr)")
        #expect(serve.finish() == 0)
    }
}
