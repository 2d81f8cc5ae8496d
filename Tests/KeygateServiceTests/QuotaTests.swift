import Foundation
import KeyStore
@testable import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

@Suite("Quotas")
struct QuotaTests {
    @Test(arguments: [
        // (now, anchor, expected start, expected reset)
        (utc(2026, 1, 31, 23, 59), nil, utc(2026, 1, 1), utc(2026, 2, 1)),
        (utc(2026, 2, 1), nil, utc(2026, 2, 1), utc(2026, 3, 1)),
        (utc(2026, 12, 31, 12), nil, utc(2026, 12, 1), utc(2027, 1, 1)),
        (utc(2028, 2, 29, 12), nil, utc(2028, 2, 1), utc(2028, 3, 1)),
        // Anchored to a billing period that started on the 31st.
        (utc(2028, 2, 15), utc(2028, 1, 31, 9), utc(2028, 1, 31, 9), utc(2028, 2, 29, 9)),
        (utc(2028, 2, 29, 9), utc(2028, 1, 31, 9), utc(2028, 2, 29, 9), utc(2028, 3, 31, 9)),
        (utc(2028, 4, 1), utc(2028, 1, 31, 9), utc(2028, 3, 31, 9), utc(2028, 4, 30, 9)),
        (utc(2029, 2, 28, 8), utc(2028, 1, 31, 9), utc(2029, 1, 31, 9), utc(2029, 2, 28, 9)),
        // Leap day anchor: the next year's period starts on the 28th.
        (utc(2029, 3, 1), utc(2028, 2, 29), utc(2029, 2, 28), utc(2029, 3, 29)),
        // Billing gave a period that has not started yet.
        (utc(2026, 3, 10), utc(2026, 3, 15), utc(2026, 2, 15), utc(2026, 3, 15)),
    ] as [(Date, Date?, Date, Date)])
    func monthlyPeriodsFollowCalendarMonthsOrTheBillingAnchor(now: Date, anchor: Date?, start: Date, reset: Date) {
        #expect(QuotaCalendar.window(.month, at: now, anchor: anchor) == QuotaWindow(start: start, resetsAt: reset))
    }

    @Test func dailyPeriodsAreUTCDaysAndStandingCountsNeverReset() {
        #expect(QuotaCalendar.window(.day, at: utc(2028, 2, 28, 23, 59), anchor: utc(2028, 1, 5))
            == QuotaWindow(start: utc(2028, 2, 28), resetsAt: utc(2028, 2, 29)))
        #expect(QuotaCalendar.window(.none, at: utc(2028, 2, 28), anchor: nil).resetsAt == nil)
    }

    @Test(arguments: Backend.available) func quotasReportLimitUsedRemainingAndReset(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "starter")
        let recorded = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 40, idempotencyKey: "b1")
        #expect(recorded.used == 40 && recorded.remaining == 960 && recorded.limit == 1000)
        #expect(recorded.resetsAt == utc(2026, 12, 1))
        let report = try fixture.service.quotas(organizationId: "org_a")
        #expect(report.plan == "starter")
        #expect(report.quotas.map(\.meter) == ["api.requests", "keys.active", "bookings"])
        #expect(report.quotas[2].used == 40)
        #expect(report.quotas[1] == QuotaState(meter: "keys.active", limit: 0, used: 0, remaining: 0, exceeded: false, period: .none, resetsAt: nil))
    }

    @Test(arguments: Backend.available) func usageIsRecordedOncePerIdempotencyKey(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 3, idempotencyKey: "booking-1")
        let replay = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 3, idempotencyKey: "booking-1")
        #expect(replay.used == 3)
        #expect(throws: ServiceError(.idempotencyKeyReused, field: "idempotencyKey")) {
            try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 5, idempotencyKey: "booking-1")
        }
    }

    @Test(arguments: Backend.available) func goingOverAQuotaIsRecordedAndRemainingStopsAtZero(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let state = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 150, idempotencyKey: "x")
        #expect(state.used == 150 && state.remaining == 0)
    }

    @Test(arguments: Backend.available) func onlyRecordedMetersTakeUsage(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        #expect(throws: ServiceError.self) {
            try fixture.service.recordUsage(organizationId: "org_a", meter: "api.requests", amount: 1, idempotencyKey: "a")
        }
        #expect(throws: ServiceError.self) {
            try fixture.service.recordUsage(organizationId: "org_a", meter: "sms", amount: 1, idempotencyKey: "a")
        }
        #expect(throws: ServiceError.self) {
            try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 0, idempotencyKey: "a")
        }
    }

    @Test(arguments: Backend.available) func aNewMonthStartsANewCount(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        fixture.clock.set(utc(2026, 11, 30, 23, 59))
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 7, idempotencyKey: "nov")
        fixture.clock.set(utc(2026, 12, 1))
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[2].used == 0)
    }

    @Test(arguments: Backend.available) func billingPeriodsAnchorMonthlyQuotas(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro", periodStart: utc(2026, 10, 31, 6), periodEnd: utc(2026, 11, 30, 6))
        fixture.clock.set(utc(2026, 11, 30, 5))
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 2, idempotencyKey: "a")
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[2].resetsAt == utc(2026, 11, 30, 6))
        fixture.clock.set(utc(2026, 11, 30, 6))
        let next = try fixture.service.quotas(organizationId: "org_a").quotas[2]
        #expect(next.used == 0 && next.resetsAt == utc(2026, 12, 31, 6))
    }

    @Test(arguments: Backend.available) func activeKeysCountAgainstTheKeyQuota(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        _ = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        _ = try fixture.service.revokeKey(id: key.key.record.id, organizationId: "org_a", actor: nil)
        let keys = try fixture.service.quotas(organizationId: "org_a").quotas[1]
        #expect(keys.used == 1 && keys.limit == 25 && keys.remaining == 24)
    }

    @Test(arguments: Backend.available) func anIntegrationReadsItsQuotasOnlyWithAValidKeyCarryingSubscriptionRead(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let reader = try fixture.create(kind: "owner_integration", capabilities: ["subscription.read"])
        let other = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        #expect(try fixture.service.quotas(secret: reader.secret.unredacted).plan == "pro")
        #expect(throws: ServiceError(.insufficientCapability, field: "key", ["capability": "subscription.read"])) {
            try fixture.service.quotas(secret: other.secret.unredacted)
        }
        #expect(throws: ServiceError(.invalidKey, field: "key", ["reason": "malformed"])) {
            try fixture.service.quotas(secret: "kg_live_nope")
        }
        try fixture.move(to: "free")
        // Refused as verification refuses it: suspended by the plan, 403.
        #expect(throws: ServiceError(.planSuspended, field: "key")) {
            try fixture.service.quotas(secret: reader.secret.unredacted)
        }
        try fixture.move(to: "pro")
        _ = try fixture.service.revokeKey(id: reader.key.record.id, organizationId: "org_a", actor: nil)
        #expect(throws: ServiceError(.invalidKey, field: "key", ["reason": "revoked"])) {
            try fixture.service.quotas(secret: reader.secret.unredacted)
        }
    }
}
