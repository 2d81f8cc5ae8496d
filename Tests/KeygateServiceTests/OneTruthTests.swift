import Foundation
import KeyStore
@testable import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

/// Each answer tells the same truth as every other: one plan in force,
/// quota reads that agree with verification, one rule per input.
@Suite("One truth across answers")
struct OneTruthTests {
    @Test(arguments: Backend.available) func aCanceledSubscriptionNamesTheDefaultPlanInEveryAnswer(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let canceled = try fixture.move(to: "pro", status: .canceled)
        #expect(canceled.subscription.plan == "free" && canceled.subscription.billedPlan == "pro")
        let subscription = try fixture.service.subscription(organizationId: "org_a")
        #expect(subscription.plan == "free" && subscription.billedPlan == "pro" && subscription.status == .canceled)
        #expect(try fixture.service.quotas(organizationId: "org_a").plan == "free")
        #expect(try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")).outcome
            == .planSuspended)
    }

    @Test(arguments: Backend.available) func anEventDatedInTheFutureIsRefusedAndLocksNothingOut(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let now = fixture.clock.now()
        #expect(throws: ServiceError(.eventInFuture, field: "occurredAt", ["seconds": "300"])) {
            try fixture.service.setPlan(SetPlanRequest(organizationId: "org_a", plan: "pro", eventId: "evt_2099",
                                                       occurredAt: utc(2099, 1, 1)))
        }
        // Within the clock-skew tolerance an event is applied, and a real
        // event after the refused one still is.
        #expect(try fixture.service.setPlan(SetPlanRequest(organizationId: "org_a", plan: "starter", eventId: "evt_skew",
                                                            occurredAt: now.addingTimeInterval(240))).applied)
        #expect(try fixture.service.setPlan(SetPlanRequest(organizationId: "org_a", plan: "pro", eventId: "evt_real",
                                                            occurredAt: now.addingTimeInterval(241))).applied)
        let strict = KeygateService(catalog: fixture.catalog, storage: SQLiteKeyStorage(
            database: try KeyDatabase.inMemory(), rules: KeyRules(catalog: fixture.catalog), clock: fixture.clock),
            clock: fixture.clock, eventClockSkew: 10)
        #expect(throws: ServiceError(.eventInFuture, field: "occurredAt", ["seconds": "10"])) {
            try strict.setPlan(SetPlanRequest(organizationId: "org_a", plan: "pro", eventId: "e", occurredAt: now + 11))
        }
    }

    @Test(arguments: Backend.available) func recordingSaysWhenAMeterIsOverItsLimitAndAReservationRecordsOnlyWhatFits(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "starter")
        // A reservation may take the last units…
        let full = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 1000, idempotencyKey: "b1",
                                                   reserve: true)
        #expect(full.used == 1000 && full.remaining == 0 && !full.exceeded)
        // …and none past them.
        #expect(throws: ServiceError(.quotaExceeded, field: "amount", ["meterName": "meter.bookings",
                                                                       "resetsAt": "2026-12-01T00:00:00.000Z"])) {
            try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 1, idempotencyKey: "b2",
                                            reserve: true)
        }
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[2].used == 1000)
        let over = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 1, idempotencyKey: "b3")
        #expect(over.used == 1001 && over.remaining == 0 && over.exceeded)
        // Past the limit in one step: the use is recorded and said to be over it.
        try fixture.move("org_b", to: "free")
        let zero = try fixture.service.recordUsage(organizationId: "org_b", meter: "bookings", amount: 101, idempotencyKey: "z")
        #expect(zero.exceeded)
    }

    /// Reservations from four processes at once (four stores on one
    /// database, as four hosts would be) never take a meter past its
    /// limit: exactly what fits is recorded, and every other is refused.
    @Test(arguments: Backend.available) func reservationsFromSeveralProcessesAtOnceNeverPassTheLimit(_ backend: Backend) async throws {
        let processes = try ServiceFixture.processes(4, backend: backend)
        let first = processes[0]
        try first.move(to: "starter")  // 1,000 bookings a month
        let accepted = await withTaskGroup(of: Int.self) { group in
            for (index, process) in processes.enumerated() {
                group.addTask {
                    var accepted = 0
                    for attempt in 0..<40 {
                        let recorded = try? process.service.recordUsage(
                            organizationId: "org_a", meter: "bookings", amount: 10, idempotencyKey: "p\(index)-\(attempt)",
                            reserve: true)
                        if recorded != nil { accepted += 1 }
                    }
                    return accepted
                }
            }
            return await group.reduce(0, +)
        }
        #expect(accepted == 100)
        let quota = try #require(try first.service.quotas(organizationId: "org_a").quotas.first { $0.meter == "bookings" })
        #expect(quota.used == 1_000)
    }

    @Test(arguments: Backend.available) func quotaReadsIncludeWhatThisProcessCountedAndNotYetWrote(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        for _ in 0..<3 {
            #expect(try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")).isValid)
        }
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[0].used == 3)
        try fixture.service.flushUsage()
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[0].used == 3)
    }

    /// Told in whole seconds, rounded up (the clock is between seconds
    /// here), and the next day's count starts at midnight itself.
    @Test(arguments: Backend.available) func aDayQuotaUsedUpTellsWhenToRetry(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "free")
        let key = try fixture.create(kind: "workspace", capabilities: ["linksRead"])
        for _ in 0..<1000 {
            fixture.clock.advance(by: 1)
            _ = try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "linksRead"))
        }
        fixture.clock.advance(by: 1.25)
        let refused = try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "linksRead"))
        #expect(refused.outcome == .quotaExceeded)
        let untilMidnight = Int(utc(2026, 11, 23).timeIntervalSince(fixture.clock.now()).rounded(.up))
        #expect(refused.retryAfter == untilMidnight)
        fixture.clock.set(utc(2026, 11, 23))
        #expect(try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "linksRead")).isValid)
    }

    @Test(arguments: Backend.available) func organizationIdsAreCheckedByOneRuleInEveryMethod(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        for id in ["org e", "org_é", String(repeating: "o", count: 129), ""] {
            let invalid = ServiceError(.invalidOrganizationId, field: "organizationId", ["max": "128"])
            #expect(throws: invalid) { try fixture.service.subscription(organizationId: id) }
            #expect(throws: invalid) { try fixture.service.keyOptions(organizationId: id) }
            #expect(throws: invalid) { try fixture.service.quotas(organizationId: id) }
            #expect(throws: invalid) { try fixture.create(id, kind: "owner_integration", capabilities: ["booking.read"]) }
        }
    }

    @Test(arguments: Backend.available) func aKeysExpiryCanBeChangedWithinThePlansLongestLifetime(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "free")
        let key = try fixture.create(kind: "workspace", capabilities: ["linksRead"])
        let now = fixture.clock.now()
        let sooner = try fixture.service.updateKey(id: key.key.record.id, organizationId: "org_a",
                                                   changes: KeyChanges(expiresAt: now + 86_400), actor: nil)
        #expect(sooner.record.expiresAt == now + 86_400)
        #expect(throws: ServiceError.self) {
            try fixture.service.updateKey(id: key.key.record.id, organizationId: "org_a",
                                          changes: KeyChanges(expiresAt: now + 91 * 86_400), actor: nil)
        }
        #expect(throws: ServiceError(.invalidExpiry, field: "expiresAt", ["reason": "past"])) {
            try fixture.service.updateKey(id: key.key.record.id, organizationId: "org_a",
                                          changes: KeyChanges(expiresAt: now - 1), actor: nil)
        }
    }

    @Test(arguments: Backend.available) func aPreviewListsTheCapabilitiesTheOrganizationWouldLose(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        _ = try fixture.create(kind: "owner_integration", capabilities: ["booking.read", "webhook.manage"])
        let preview = try fixture.service.preview(organizationId: "org_a", plan: "free")
        #expect(preview.capabilitiesLost == ["booking.read", "webhook.manage"])
        #expect(try fixture.service.preview(organizationId: "org_a", plan: "pro").capabilitiesLost == [])
    }

    @Test(arguments: Backend.available) func aVerificationWithoutCapabilityOrRouteOnlyAuthenticates(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        #expect(try fixture.service.verify(VerifyRequest(key: key.secret.unredacted)).outcome == .valid)
        #expect(try fixture.service.verify(VerifyRequest(authorization: "Basic \(key.secret.unredacted)")).outcome == .malformed)
        #expect(try fixture.service.verify(VerifyRequest(authorization: key.secret.unredacted)).outcome == .malformed)
        #expect(try fixture.service.verify(VerifyRequest(authorization: "bearer  \(key.secret.unredacted) ")).outcome == .valid)
    }
}
