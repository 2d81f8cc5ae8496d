import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// A retention of idempotency keys as each store keeps it: uses, billing
/// event ids and key creations received before it are forgotten, a step
/// at a time, but a billing event id its organization's last event could
/// be told by.
@Suite("Forgetting old deliveries")
struct DeliveryForgettingTests {
    let period = Date(timeIntervalSince1970: 1_800_000_000)

    /// Runs a whole pass, `rows` a step; the number forgotten.
    private func pass(_ storage: any KeygateStorage, before: Date, rows: Int) throws -> Int {
        var cursor: DeliveryCursor?
        var forgotten = 0
        // Bounded: a pass that never ends fails the test instead of hanging it.
        for _ in 0..<100 {
            let step = try storage.forgetDeliveries(before: before, after: cursor, rows: rows)
            forgotten += step.forgotten
            guard let next = step.next else { return forgotten }
            cursor = next
        }
        Issue.record("the pass did not end in 100 steps")
        return forgotten
    }

    @Test(arguments: Backend.withPooler) func usesPastTheRetentionAreForgottenAndCountAgainWhenSentAgain(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        func add(_ key: String, organization: String = "org_a") throws -> (used: Int, replayed: Bool) {
            try storage.add(1, to: "bookings", periodStart: period, organizationId: organization, idempotencyKey: key,
                            reserve: false, limit: nil)
        }
        for (key, organization) in [("old-1", "org_a"), ("old-2", "org_a"), ("old-3", "org_b"), ("old-4", "org_c")] {
            _ = try add(key, organization: organization)
        }
        fixture.clock.advance(by: 10 * 86_400)
        _ = try add("new-1")
        _ = try add("new-2", organization: "org_b")

        let cutoff = fixture.clock.now().addingTimeInterval(-5 * 86_400)
        #expect(try pass(storage, before: cutoff, rows: 2) == 4)
        #expect(try fixture.rows(in: "usage_record") == 2)
        #expect(try pass(storage, before: cutoff, rows: 2) == 0, "a second pass finds nothing more")

        #expect(try add("new-1").replayed, "a use within the retention is still a replay")
        let again = try add("old-1")
        #expect(!again.replayed && again.used == 4, "a forgotten use counts again")
        #expect(try storage.readings(organizationId: "org_b", periods: [("bookings", period)]).first?.used == 2,
                "forgetting uses leaves what they counted")
    }

    @Test(arguments: Backend.withPooler) func billingEventIdsAreForgottenButThoseOfTheLastDate(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let start = fixture.clock.now()
        func apply(_ id: String, _ organization: String, minutes: Double, plan: String = "pro") throws -> BillingOutcome {
            try storage.apply(BillingEvent(eventId: id, organizationId: organization, plan: plan,
                                           occurredAt: start.addingTimeInterval(minutes * 60)))
        }
        func isStale(_ outcome: BillingOutcome) -> Bool { if case .stale = outcome { true } else { false } }
        func isDuplicate(_ outcome: BillingOutcome) -> Bool { if case .duplicate = outcome { true } else { false } }
        _ = try apply("a-1", "org_a", minutes: -30)
        _ = try apply("a-2", "org_a", minutes: -20, plan: "starter")
        #expect(isStale(try apply("a-0", "org_a", minutes: -40)))
        _ = try apply("a-2-again", "org_a", minutes: -20, plan: "starter")  // the last date, delivered twice
        _ = try apply("b-1", "org_b", minutes: -10)
        fixture.clock.advance(by: 10 * 86_400)
        _ = try apply("c-1", "org_c", minutes: 10 * 1_440 - 2)
        _ = try apply("c-2", "org_c", minutes: 10 * 1_440 - 1)

        let cutoff = fixture.clock.now().addingTimeInterval(-5 * 86_400)
        // a-1 and a-0, older than org_a's last and received before the cutoff;
        // c-1 is older than org_c's last, but recent.
        #expect(try pass(storage, before: cutoff, rows: 2) == 2)
        #expect(try fixture.rows(in: "billing_event") == 5)

        #expect(isStale(try apply("a-1", "org_a", minutes: -30)), "a forgotten id sent again changes nothing")
        #expect(try storage.subscription(organizationId: "org_a")?.plan == "starter")
        for (id, organization, minutes, plan) in [("a-2", "org_a", -20.0, "starter"), ("a-2-again", "org_a", -20, "starter"),
                                                  ("b-1", "org_b", -10, "pro"), ("c-1", "org_c", 10 * 1_440 - 2, "pro")] {
            #expect(isDuplicate(try apply(id, organization, minutes: minutes, plan: plan)), "\(id) is still known")
        }
    }

    @Test(arguments: Backend.withPooler) func creationsPastTheRetentionAreForgottenAndCreateAgainWhenSentAgain(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        func create(_ idempotencyKey: String, organization: String = "org_a") throws(KeyStoreError) -> String {
            var key = fixture.newKey(organization: organization)
            key.idempotencyKey = idempotencyKey
            return try storage.create(key, limit: nil).key.id
        }
        let kept = try create("old-1")
        for (key, organization) in [("old-2", "org_a"), ("old-3", "org_b")] { _ = try create(key, organization: organization) }
        _ = try storage.add(1, to: "bookings", periodStart: period, organizationId: "org_a", idempotencyKey: "use-1",
                            reserve: false, limit: nil)
        fixture.clock.advance(by: 10 * 86_400)
        let recent = try create("new-1")

        let cutoff = fixture.clock.now().addingTimeInterval(-5 * 86_400)
        #expect(try pass(storage, before: cutoff, rows: 2) == 4, "three creations and a use")
        #expect(try fixture.rows(in: "key_creation") == 1)
        #expect(throws: KeyStoreError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": recent])) { try create("new-1") }
        let again = try create("old-1")
        #expect(again != kept, "a forgotten creation sent again makes a new key")
        #expect(try storage.key(id: kept, organizationId: "org_a").id == kept, "forgetting a creation leaves its key")
    }

    @Test(arguments: Backend.withPooler) func rotationsPastTheRetentionAreForgottenAndRotateAgainWhenSentAgain(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let id = try fixture.create().key.id
        func rotate(_ idempotencyKey: String) throws(KeyStoreError) -> String {
            try storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil,
                               idempotencyKey: idempotencyKey).key.hint
        }
        for key in ["old-1", "old-2", "old-3"] { _ = try rotate(key) }
        fixture.clock.advance(by: 10 * 86_400)
        _ = try rotate("new-1")

        let cutoff = fixture.clock.now().addingTimeInterval(-5 * 86_400)
        #expect(try pass(storage, before: cutoff, rows: 2) == 3)
        #expect(try fixture.rows(in: "key_rotation") == 1)
        #expect(throws: KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": id])) { try rotate("new-1") }
        let before = try storage.key(id: id, organizationId: "org_a").hint
        #expect(try rotate("old-1") != before, "a forgotten rotation sent again rotates")
    }

    /// A pass on a store with nothing to forget goes through the four
    /// tables and ends.
    @Test(arguments: Backend.withPooler) func aPassOverNothingEnds(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let first = try fixture.storage.forgetDeliveries(before: fixture.clock.now(), after: nil, rows: 10)
        #expect(first == DeliveryForgetting(forgotten: 0, next: .billingEvent(after: nil)))
        let second = try fixture.storage.forgetDeliveries(before: fixture.clock.now(), after: first.next, rows: 10)
        #expect(second == DeliveryForgetting(forgotten: 0, next: .creation(organizationId: "", idempotencyKey: "")))
        let third = try fixture.storage.forgetDeliveries(before: fixture.clock.now(), after: second.next, rows: 10)
        #expect(third == DeliveryForgetting(forgotten: 0, next: .rotation(organizationId: "", idempotencyKey: "")))
        let fourth = try fixture.storage.forgetDeliveries(before: fixture.clock.now(), after: third.next, rows: 10)
        #expect(fourth == DeliveryForgetting(forgotten: 0, next: nil))
    }
}
