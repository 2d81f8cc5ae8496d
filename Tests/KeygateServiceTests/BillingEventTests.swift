import Foundation
import KeyStore
import KeygateTestSupport
import KeygateService
import PlanCatalog
import Testing

@Suite("Billing events: idempotent and ordered by their own time")
struct BillingEventTests {
    func event(_ id: String, _ plan: PlanID, at seconds: TimeInterval, org: String = "org_a",
               status: SubscriptionStatus? = nil, period: (start: Date, end: Date)? = nil) -> SetPlanRequest {
        SetPlanRequest(organizationId: org, plan: plan, eventId: id, occurredAt: utc(2026, 1, 1).addingTimeInterval(seconds),
                       status: status, periodStart: period?.start, periodEnd: period?.end)
    }

    @Test(arguments: Backend.available) func aReplayedEventChangesNothing(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let first = try fixture.service.setPlan(event("evt_1", "pro", at: 10))
        #expect(first.applied && first.reason == nil && first.subscription.plan == "pro")
        #expect(try fixture.service.setPlan(event("evt_2", "starter", at: 20)).applied)
        let replay = try fixture.service.setPlan(event("evt_1", "pro", at: 10))
        #expect(!replay.applied && replay.reason == .duplicateEvent)
        #expect(replay.subscription.plan == "starter")
    }

    /// Billing sends one event under one id. A delivery under a known id
    /// that says anything else is an id reused by mistake (a plan change
    /// sent under the id of the one before): answered as a replay, its
    /// change would be dropped unseen, so it is refused, naming the first
    /// field that differs, and nothing changes. The same event sent again,
    /// by another actor, is still a replay.
    @Test(arguments: Backend.available) func anEventIdReusedForAnotherEventIsRefused(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let first = event("evt_1", "pro", at: 10, status: .pastDue, period: (utc(2026, 1, 1), utc(2026, 2, 1)))
        #expect(try fixture.service.setPlan(first).applied)
        let reuses: [(differs: String, change: (inout SetPlanRequest) -> Void)] = [
            ("organizationId", { $0.organizationId = "org_b" }),
            ("occurredAt", { $0.occurredAt += 1 }),
            ("plan", { $0.plan = "starter" }),
            ("status", { $0.status = .active }),
            ("status", { $0.status = nil }),
            ("periodStart", { $0.periodStart = utc(2026, 1, 2) }),
            ("periodStart", { $0.periodStart = nil; $0.periodEnd = nil }),
            ("periodEnd", { $0.periodEnd = utc(2026, 2, 2) }),
        ]
        for (differs, change) in reuses {
            var reused = first
            change(&reused)
            #expect(throws: ServiceError(.eventIdReused, field: "eventId", ["differs": differs])) {
                try fixture.service.setPlan(reused)
            }
        }
        var again = first
        again.actor = "billing-retry"
        let replay = try fixture.service.setPlan(again)
        #expect(!replay.applied && replay.reason == .duplicateEvent)
        let subscription = try fixture.service.subscription(organizationId: "org_a")
        #expect(subscription.plan == "pro" && subscription.status == .pastDue && subscription.periodEnd == utc(2026, 2, 1))
        #expect(try fixture.service.subscription(organizationId: "org_b").updatedAt == nil)
        #expect(try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries.count == 1)

        // A stale event is remembered as sent too.
        #expect(try fixture.service.setPlan(event("evt_old", "free", at: 5)).reason == .staleEvent)
        #expect(throws: ServiceError(.eventIdReused, field: "eventId", ["differs": "plan"])) {
            try fixture.service.setPlan(event("evt_old", "starter", at: 5))
        }
    }

    @Test(arguments: Backend.available) func anOlderEventArrivingLateDoesNotUndoANewerOne(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        #expect(try fixture.service.setPlan(event("evt_new", "starter", at: 20)).applied)
        let late = try fixture.service.setPlan(event("evt_old", "pro", at: 10))
        #expect(!late.applied && late.reason == .staleEvent)
        #expect(late.subscription.plan == "starter")
        // A stale event is remembered too: its replay is a duplicate.
        #expect(try fixture.service.setPlan(event("evt_old", "pro", at: 10)).reason == .duplicateEvent)
    }

    /// Billing dates events to the second and sends several at once (a
    /// plan change and its invoice): an event as old as the last one
    /// applied is applied, the later delivery winning. Only an older one
    /// is stale.
    @Test(arguments: Backend.available) func anEventAsOldAsTheLastAppliedIsApplied(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        #expect(try fixture.service.setPlan(event("evt_1", "starter", at: 10)).applied)
        let same = try fixture.service.setPlan(event("evt_2", "pro", at: 10))
        #expect(same.applied && same.reason == nil && same.subscription.plan == "pro")
        #expect(try fixture.service.subscription(organizationId: "org_a").plan == "pro")
    }

    /// Real billing systems deliver out of order and more than once: whatever
    /// the order, the newest event wins and each is applied at most once.
    @Test(arguments: 1...25 as ClosedRange<UInt64>)
    func shuffledAndRepeatedEventsEndOnTheNewest(seed: UInt64) throws {
        let fixture = try ServiceFixture()
        var random = SeededRandom(seed: seed)
        let plans: [PlanID] = ["free", "starter", "pro"]
        let events = (0..<12).map { index in
            event("evt_\(seed)_\(index)", plans[Int(random.next() % 3)], at: TimeInterval(index * 60))
        }
        var deliveries = events + events.filter { _ in random.next() % 3 == 0 }
        deliveries.shuffle(using: &random)
        var applied: [String: Int] = [:]
        for delivery in deliveries where try fixture.service.setPlan(delivery).applied {
            applied[delivery.eventId, default: 0] += 1
        }
        #expect(applied.values.allSatisfy { $0 == 1 })
        #expect(try fixture.service.subscription(organizationId: "org_a").plan == events.last!.plan)
        let audited = try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 200).entries
        #expect(audited.count == applied.count)
    }

    @Test(arguments: Backend.available) func eventsForOneOrganizationNeverTouchAnother(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        _ = try fixture.service.setPlan(event("evt_a", "pro", at: 10, org: "org_a"))
        #expect(try fixture.service.subscription(organizationId: "org_b").plan == "free")
    }

    @Test(arguments: Backend.available) func unknownPlansAndBadPeriodsAreRefusedAndNotRemembered(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        #expect(throws: ServiceError.self) { try fixture.service.setPlan(event("evt_1", "gold", at: 10)) }
        var request = event("evt_1", "pro", at: 10)
        request.periodStart = utc(2026, 2, 1)
        request.periodEnd = utc(2026, 1, 1)
        #expect {
            try fixture.service.setPlan(request)
        } throws: { ($0 as? ServiceError)?.code == .invalidPeriod }
        // A period that ends where it starts holds no time: refused too.
        request.periodEnd = request.periodStart
        #expect {
            try fixture.service.setPlan(request)
        } throws: { ($0 as? ServiceError)?.code == .invalidPeriod }
        #expect(try fixture.service.setPlan(event("evt_1", "pro", at: 10)).applied)
    }

    @Test(arguments: Backend.available) func statusAndPeriodAreKeptUntilBillingChangesThem(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        _ = try fixture.service.setPlan(event("evt_1", "pro", at: 10, status: .trialing, period: (utc(2026, 1, 15), utc(2026, 2, 15))))
        let second = try fixture.service.setPlan(event("evt_2", "starter", at: 20)).subscription
        #expect(second.status == .trialing)
        #expect(second.periodStart == utc(2026, 1, 15) && second.periodEnd == utc(2026, 2, 15))
    }
}
