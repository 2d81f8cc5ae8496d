import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// `keygate serve --idempotency-retention-days`: uses and billing event
/// ids received before it are forgotten by a pass at the event sweeps,
/// by the most days any process on the database keeps.
@Suite("keygate serve: idempotency retention")
struct IdempotencyRetentionTests {
    @Test(arguments: Backend.available) func idempotencyKeysPastTheRetentionAreForgottenOnceNoProcessKeepsThem(
        _ backend: Backend
    ) throws {
        let first = try ServeProcess(on: backend)
        _ = try first.result("subscriptions.setPlan", [
            "organizationId": "org_i", "plan": "pro", "eventId": "evt_now", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        func record(_ serve: ServeProcess, _ key: String) throws -> Int? {
            try serve.result("usage.record", ["organizationId": "org_i", "meter": "bookings", "amount": 1,
                                              "idempotencyKey": key])["used"] as? Int
        }
        #expect(try record(first, "fresh") == 1)
        #expect(first.finish() == 0)

        // Forty days ago, as a database that has served for months holds it:
        // a use, and a billing event older than the organization's last.
        let clock = ManualClock(Date.now.addingTimeInterval(-40 * 86_400))
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live", "test"]), kinds: [], capabilities: [])
        let storage = try first.openStorage(rules: rules, clock: clock)
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = .gmt
        let period = try #require(calendar.dateInterval(of: .month, for: .now)).start  // the period usage.record counts in
        _ = try storage.add(1, to: "bookings", periodStart: period, organizationId: "org_i", idempotencyKey: "old",
                            reserve: false, limit: nil)
        _ = try storage.apply(BillingEvent(eventId: "evt_old", organizationId: "org_i", plan: "starter",
                                           occurredAt: Date(timeIntervalSince1970: 1_790_000_000)))

        let (keeping, forgetting) = try ServeProcess.sweepingPair(sharing: first,
                                                                  secondWith: ["--idempotency-retention-days", "30"])
        #expect(forgetting.logs("another process on this database remembers idempotency keys longer"), "\(forgetting.stderr)")
        #expect(forgetting.stderr.contains("otherIdempotencyRetentionDays=all"), "\(forgetting.stderr)")
        #expect(forgetting.logged("settings recorded", reaching: 4) >= 4)
        #expect(try record(forgetting, "old") == 2, "remembered while another process keeps it: a replay")

        #expect(keeping.finish() == 0)
        #expect(forgetting.logs("count=2 [KeygateCLI] idempotency keys and billing event ids past the retention forgotten"),
                "\(forgetting.stderr)")
        #expect(forgetting.stderr.contains(
            "no process on this database that recorded its settings lately remembers idempotency keys longer"), "\(forgetting.stderr)")
        #expect(try record(forgetting, "old") == 3, "forgotten: sent again, it counts again")
        #expect(try record(forgetting, "fresh") == 3, "within the retention: a replay")
        let billing = try forgetting.result("subscriptions.setPlan", [
            "organizationId": "org_i", "plan": "starter", "eventId": "evt_old", "occurredAt": "2026-09-21T14:13:20Z",
        ])
        #expect(billing["applied"] as? Bool == false && billing["reason"] as? String == "stale_event", "\(billing)")
        let replay = try forgetting.result("subscriptions.setPlan", [
            "organizationId": "org_i", "plan": "pro", "eventId": "evt_now", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        #expect(replay["reason"] as? String == "duplicate_event", "the last event's id is kept: \(replay)")
        #expect(forgetting.finish() == 0)
    }
}
