import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// `keygate serve --audit-retention-days`: audit entries written before it
/// are pruned by a pass at the event sweeps, by the most days any process
/// on the database keeps; by default the log is kept for good.
@Suite("keygate serve: audit retention")
struct AuditRetentionTests {
    @Test(arguments: Backend.available) func auditEntriesPastTheRetentionArePrunedOnceNoProcessKeepsThem(
        _ backend: Backend
    ) throws {
        let first = try ServeProcess(on: backend)
        #expect(first.finish() == 0)

        // Forty days ago, as a database that has served for months holds it.
        let clock = ManualClock(Date.now.addingTimeInterval(-40 * 86_400))
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live", "test"]), kinds: [], capabilities: [])
        let storage = try first.openStorage(rules: rules, clock: clock)
        _ = try storage.apply(BillingEvent(eventId: "evt_old", organizationId: "org_old", plan: "starter",
                                           occurredAt: clock.now()))
        func trail(_ serve: ServeProcess, _ organization: String) throws -> [String] {
            let entries = try serve.result("audit.list", ["organizationId": organization])["entries"] as? [[String: Any]]
            return (entries ?? []).compactMap { $0["action"] as? String }
        }

        let (keeping, pruning) = try ServeProcess.sweepingPair(sharing: first, secondWith: ["--audit-retention-days", "30"])
        _ = try keeping.result("subscriptions.setPlan", [
            "organizationId": "org_new", "plan": "pro", "eventId": "evt_new", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        #expect(pruning.logs("another process on this database keeps audit entries longer"), "\(pruning.stderr)")
        #expect(pruning.stderr.contains("otherAuditRetentionDays=all"), "\(pruning.stderr)")
        #expect(pruning.logged("settings recorded", reaching: 4) >= 4)
        #expect(try trail(pruning, "org_old") == ["subscription.changed"], "kept while another process keeps the log for good")

        #expect(keeping.finish() == 0)
        #expect(pruning.logs("count=1 [KeygateCLI] audit entries past the retention pruned"), "\(pruning.stderr)")
        #expect(pruning.stderr.contains(
            "no process on this database that recorded its settings lately keeps audit entries longer"), "\(pruning.stderr)")
        #expect(try trail(pruning, "org_old").isEmpty, "past the retention")
        #expect(try trail(pruning, "org_new") == ["subscription.changed"], "within the retention")
        #expect(pruning.finish() == 0)
    }
}
