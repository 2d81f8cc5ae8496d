import Foundation
import KeyStore
import KeygateJSON
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
        // Years back from an anchor, into a leap February.
        (utc(2024, 2, 29, 16), utc(2030, 1, 31, 15), utc(2024, 2, 29, 15), utc(2024, 3, 31, 15)),
        // Centuries: 2000 has a February 29th, 2100 has none.
        (utc(2000, 2, 15), utc(1999, 12, 31), utc(2000, 1, 31), utc(2000, 2, 29)),
        (utc(2100, 2, 15), utc(2099, 12, 31), utc(2100, 1, 31), utc(2100, 2, 28)),
    ] as [(Date, Date?, Date, Date)])
    func monthlyPeriodsFollowCalendarMonthsOrTheBillingAnchor(now: Date, anchor: Date?, start: Date, reset: Date) {
        #expect(QuotaCalendar.window(.month, at: now, anchor: anchor) == QuotaWindow(start: start, resetsAt: reset))
    }

    /// Monthly periods are computed by arithmetic rather than through
    /// `Calendar`. Over thousands of anchors and times (ends of months, leap
    /// days, times of day to the millisecond, anchors after the time) each
    /// period starts and ends where `Calendar` puts the anchor's day and
    /// time in that month (or the month's last day), to the millisecond.
    /// `Calendar.date(byAdding:)` is not the reference: going back months
    /// into a leap February it clamps as if February had 28 days (from
    /// 2030-01-31, 71 months back gives 2024-02-28).
    @Test func monthlyPeriodsAreTheGregorianCalendarsInUTC() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts: Set<Calendar.Component> = [.year, .month, .day, .hour, .minute, .second, .nanosecond]
        func month(_ offset: Int, from anchor: Date) -> Date {
            var components = calendar.dateComponents(parts, from: anchor)
            let index = components.year! * 12 + components.month! - 1 + offset
            let first = calendar.date(from: DateComponents(year: index / 12, month: index % 12 + 1, day: 1))!
            components.year = index / 12
            components.month = index % 12 + 1
            components.day = min(components.day!, calendar.range(of: .day, in: .month, for: first)!.count)
            return calendar.date(from: components)!
        }
        func expected(_ now: Date, _ anchor: Date?) -> (Int64, Int64?) {
            let anchor = anchor ?? calendar.date(from: calendar.dateComponents([.year, .month], from: now))!
            let (from, to) = (calendar.dateComponents([.year, .month], from: anchor), calendar.dateComponents([.year, .month], from: now))
            var offset = (to.year! - from.year!) * 12 + to.month! - from.month!
            while month(offset, from: anchor) > now { offset -= 1 }
            while month(offset + 1, from: anchor) <= now { offset += 1 }
            return (RFC3339.milliseconds(month(offset, from: anchor)), RFC3339.milliseconds(month(offset + 1, from: anchor)))
        }
        var random = SystemRandomNumberGenerator()
        // 1999 to 2101: the century rules and many leap days.
        let range: ClosedRange<Int64> = 915_148_800_000...4_133_980_800_000
        for _ in 0..<3_000 {
            let now = RFC3339.date(milliseconds: Int64.random(in: range, using: &random))
            let endOfMonth = calendar.date(from: DateComponents(
                year: Int.random(in: 2000...2100, using: &random), month: Int.random(in: 1...12, using: &random),
                day: 1, hour: Int.random(in: 0...23, using: &random)))!
                .addingTimeInterval(-86_400 * Double(Int.random(in: 0...3, using: &random)))
            let anchor = [nil, RFC3339.date(milliseconds: Int64.random(in: range, using: &random)), endOfMonth]
                .randomElement(using: &random)!
            let window = QuotaCalendar.window(.month, at: now, anchor: anchor)
            let (start, reset) = expected(now, anchor)
            #expect(RFC3339.milliseconds(window.start) == start && window.resetsAt.map(RFC3339.milliseconds) == reset,
                    "\(now) anchored at \(String(describing: anchor))")
        }
    }

    /// A billing period may start in any year RFC 3339 writes (0000 to
    /// 9999), and RFC 3339's calendar is the Gregorian one extended back
    /// before 1582: a period anchored on the 31st of a month in 1500 resets
    /// on the 31st (or the month's last day) as one anchored in 2026 does,
    /// and a date of the ten days the Julian calendar skipped in 1582 is a
    /// day like any other.
    @Test(arguments: [
        // (now, anchor, expected start, expected reset), as RFC 3339 writes them
        ("2026-03-10T12:00:00.000Z", "1500-01-31T09:00:00.000Z", "2026-02-28T09:00:00.000Z", "2026-03-31T09:00:00.000Z"),
        ("2026-03-31T10:00:00.000Z", "0001-01-31T09:00:00.000Z", "2026-03-31T09:00:00.000Z", "2026-04-30T09:00:00.000Z"),
        ("2026-11-30T00:00:00.000Z", "1582-10-10T00:00:00.000Z", "2026-11-10T00:00:00.000Z", "2026-12-10T00:00:00.000Z"),
        ("2026-03-01T00:00:00.000Z", "0000-02-29T00:00:00.000Z", "2026-02-28T00:00:00.000Z", "2026-03-29T00:00:00.000Z"),
        // An anchor far ahead: periods count back from it.
        ("2026-01-15T00:00:00.000Z", "9999-12-31T00:00:00.000Z", "2025-12-31T00:00:00.000Z", "2026-01-31T00:00:00.000Z"),
        // Months before year 0 count back like any others.
        ("0000-01-15T00:00:00.000Z", "0000-01-31T00:00:00.000Z", "-1-12-31T00:00:00.000Z", "0000-01-31T00:00:00.000Z"),
    ])
    func monthlyPeriodsAnchoredInAnyYearFollowTheProlepticGregorianCalendar(
        now: String, anchor: String, start: String, reset: String
    ) throws {
        let (now, anchor) = (try #require(RFC3339.date(now)), try #require(RFC3339.date(anchor)))
        let window = QuotaCalendar.window(.month, at: now, anchor: anchor)
        #expect(RFC3339.string(window.start) == start)
        #expect(window.resetsAt.map(RFC3339.string) == reset)
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
        #expect(throws: ServiceError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "amount"])) {
            try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 5, idempotencyKey: "booking-1")
        }
    }

    /// A retry sends the same call: one asking otherwise about the limit
    /// under a key already used is a key reused by mistake. Answered as a
    /// replay, a reservation would be told it fit when the first call
    /// recorded past the limit.
    @Test(arguments: Backend.available) func aKeyUsedWithoutReservingIsNotAReservationsReplay(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "starter")  // 1,000 bookings a month
        let over = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 1200, idempotencyKey: "sync-7")
        #expect(over.exceeded)
        #expect(throws: ServiceError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "reserve"])) {
            try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 1200, idempotencyKey: "sync-7",
                                            reserve: true)
        }
        let reserved = try fixture.service.recordUsage(organizationId: "org_b", meter: "bookings", amount: 10,
                                                       idempotencyKey: "sync-7", reserve: true)
        #expect(reserved.used == 10, "another organization's key of the same name is its own")
        #expect(throws: ServiceError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "reserve"])) {
            try fixture.service.recordUsage(organizationId: "org_b", meter: "bookings", amount: 10, idempotencyKey: "sync-7")
        }
        let replay = try fixture.service.recordUsage(organizationId: "org_b", meter: "bookings", amount: 10,
                                                     idempotencyKey: "sync-7", reserve: true)
        #expect(replay.used == 10)
        let bookings = { (organization: String) throws in
            try #require(try fixture.service.quotas(organizationId: organization).quotas.first { $0.meter == "bookings" }).used
        }
        #expect(try bookings("org_a") == 1200 && bookings("org_b") == 10, "nothing recorded twice, nothing refused recorded")
    }

    /// A plan change between a reservation and its retry moves the limit,
    /// not how the call asked: the retry is still the same call.
    @Test(arguments: Backend.available) func aReservationsRetryAfterAPlanChangeIsAReplay(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 900, idempotencyKey: "r1",
                                            reserve: true)
        try fixture.move(to: "free")
        let replay = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 900,
                                                     idempotencyKey: "r1", reserve: true)
        #expect(replay.used == 900 && replay.exceeded)
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

    /// Billing correcting a period's start to an earlier one: what was
    /// counted since the old start is in the corrected period too, the
    /// requests verification counts and the uses a product records alike,
    /// and counting goes on from there. A period moved later, as a renewal
    /// moves it, starts from zero.
    @Test(arguments: Backend.available) func aBillingPeriodMovedEarlierKeepsWhatWasCountedInIt(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)  // 22 November, noon
        try fixture.move(to: "pro", periodStart: utc(2026, 11, 20, 6), periodEnd: utc(2026, 12, 20, 6))
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        func verify() throws -> VerifyOutcome {
            try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")).outcome
        }
        func used() throws -> [Int] {
            try fixture.service.quotas(organizationId: "org_a").quotas.filter { $0.meter != "keys.active" }.map(\.used)
        }
        for _ in 0..<3 { #expect(try verify() == .valid) }
        try fixture.service.flushUsage()
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 30, idempotencyKey: "b1")
        #expect(try used() == [3, 30])

        try fixture.move(to: "pro", periodStart: utc(2026, 11, 10, 6), periodEnd: utc(2026, 12, 10, 6))
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[0].resetsAt == utc(2026, 12, 10, 6))
        #expect(try used() == [3, 30], "counted since the 20th, inside the period from the 10th")
        #expect(try verify() == .valid)
        try fixture.service.flushUsage()
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 2, idempotencyKey: "b2")
        #expect(try used() == [4, 32])

        fixture.clock.set(utc(2026, 12, 10, 6))
        try fixture.move(to: "pro", periodStart: utc(2026, 12, 10, 6), periodEnd: utc(2027, 1, 10, 6))
        #expect(try used() == [0, 0])
    }

    /// One truth across processes: a process whose verification holds an
    /// organization's request count reads the joined count once another
    /// process applies the billing event that moved the period's start,
    /// and refuses past the limit by it (the channel manager's Essentials:
    /// 100,000 requests a month).
    @Test(arguments: Backend.available) func anotherProcessLimitsRequestsByTheJoinedCount(_ backend: Backend) throws {
        let two = try TwoProcesses(on: "essentials", backend: backend)
        for _ in 0..<300 { #expect(try two.verify(cost: 300) == .valid) }  // 90,000
        try two.api.service.flushUsage()

        try two.billing.move(to: "essentials", periodStart: utc(2026, 11, 10), periodEnd: utc(2026, 12, 10))
        for _ in 0..<33 { #expect(try two.verify(cost: 300) == .valid) }   // 99,900
        #expect(try two.verify(cost: 300) == .quotaExceeded)
        #expect(try two.verify(cost: 100) == .valid)                       // 100,000
        #expect(try two.verify(cost: 1) == .quotaExceeded)
        try two.api.service.flushUsage()
        let requests = try two.requests()
        #expect(requests?.used == 100_000 && requests?.resetsAt == utc(2026, 12, 10))
    }

    /// Requests a process counted under a period's start and wrote after
    /// billing moved the period earlier join the new period, whether the
    /// process verified again before its flush (and counted the rest under
    /// the new start) or not.
    @Test(arguments: Backend.available) func requestsWrittenAfterTheirPeriodMovedJoinTheNewOne(_ backend: Backend) throws {
        let two = try TwoProcesses(on: "essentials", backend: backend)
        #expect(try two.verify(cost: 100) == .valid)
        try two.api.service.flushUsage()
        #expect(try two.verify(cost: 200) == .valid)  // not written when billing moves the period
        try two.billing.move(to: "essentials", periodStart: utc(2026, 11, 10), periodEnd: utc(2026, 12, 10))
        try two.api.service.flushUsage()
        #expect(try two.requests()?.used == 300)

        #expect(try two.verify(cost: 30) == .valid)
        try two.billing.move(to: "essentials", periodStart: utc(2026, 11, 5), periodEnd: utc(2026, 12, 5))
        #expect(try two.verify(cost: 4) == .valid)  // counted under the new start, beside the 30
        try two.api.service.flushUsage()
        let moved = try #require(try two.requests())
        #expect(moved.used == 334 && moved.resetsAt == utc(2026, 12, 5))
    }

    /// A process so far behind that the change log no longer says whose
    /// subscription changed looks at every period it writes: requests it
    /// counted under a start that billing moved meanwhile still join the
    /// new period.
    @Test(arguments: Backend.available) func requestsWrittenPastTheChangeLogsReachJoinTheirPeriod(_ backend: Backend) throws {
        let two = try TwoProcesses(on: "essentials", backend: backend)
        #expect(try two.verify(cost: 200) == .valid)
        try two.billing.move(to: "essentials", periodStart: utc(2026, 11, 10), periodEnd: utc(2026, 12, 10))
        try two.billing.outrunChangeLog()
        try two.api.service.flushUsage()
        #expect(try two.requests()?.used == 200)
    }

    /// Requests a process counted on the plan before a downgrade and wrote
    /// after it take the count past 80% of the new limit: that is
    /// announced, although the billing event found the stored count below
    /// it and the flush weighed them against the old limit.
    @Test(arguments: Backend.available) func requestsWrittenAfterADowngradeAnnounceTheNewLimitsThreshold(_ backend: Backend) throws {
        let two = try TwoProcesses(on: "connect", backend: backend)  // 5,000,000 a month
        for _ in 0..<260 { #expect(try two.verify(cost: 300) == .valid) }  // 78,000
        try two.api.service.flushUsage()
        for _ in 0..<10 { #expect(try two.verify(cost: 300) == .valid) }   // 81,000, 3,000 not written
        try two.billing.move(to: "essentials", periodStart: utc(2026, 11, 20), periodEnd: utc(2026, 12, 20))  // 100,000
        #expect(try two.thresholds().isEmpty)
        try two.api.service.flushUsage()
        let events = try two.thresholds()
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.data["threshold"] == .integer(80) && event.data["limit"] == .integer(100_000))
        #expect(event.data["used"] == .integer(81_000))
    }

    /// After an upgrade, requests counted on the old plan and written after
    /// it announce no threshold of the old limit, which is no longer in
    /// force: 81% of it is 1.6% of the new one.
    @Test(arguments: Backend.available) func requestsWrittenAfterAnUpgradeAnnounceNothingOfTheOldLimit(_ backend: Backend) throws {
        let two = try TwoProcesses(on: "essentials", backend: backend)  // 100,000 a month
        for _ in 0..<260 { #expect(try two.verify(cost: 300) == .valid) }  // 78,000
        try two.api.service.flushUsage()
        for _ in 0..<10 { #expect(try two.verify(cost: 300) == .valid) }   // 81,000, 3,000 not written
        try two.billing.move(to: "connect", periodStart: utc(2026, 11, 20), periodEnd: utc(2026, 12, 20))  // 5,000,000
        try two.api.service.flushUsage()
        #expect(try two.thresholds().isEmpty)
        let requests = try two.requests()
        #expect(requests?.used == 81_000 && requests?.limit == 5_000_000)
    }

    /// Counts kept by calendar month before billing named a period join
    /// the first period it names if they began inside it.
    @Test(arguments: Backend.available) func countsByCalendarMonthJoinTheBillingPeriodThatHoldsThem(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)  // 22 November
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 5, idempotencyKey: "b1")
        try fixture.move(to: "starter", periodStart: utc(2026, 10, 25), periodEnd: utc(2026, 11, 25))
        let bookings = try #require(try fixture.service.quotas(organizationId: "org_a").quotas.first { $0.meter == "bookings" })
        #expect(bookings.used == 5 && bookings.resetsAt == utc(2026, 11, 25))
    }

    /// A plan counting a meter by the day, then one counting it by the
    /// month: today's count joins the month's. Back to the day, today
    /// starts from zero, as its uses cannot be told from the month's.
    @Test(arguments: Backend.available) func aPlanCountingByTheMonthTakesTodaysCountFromOneCountingByTheDay(_ backend: Backend) throws {
        let fixture = try ServiceFixture(editing: {
            $0.replacingOccurrences(of: #"<quota meter="bookings" limit="100" period="month"/>"#,
                                    with: #"<quota meter="bookings" limit="100" period="day"/>"#)
        }, backend: backend)
        func bookings() throws -> QuotaState? {
            try fixture.service.quotas(organizationId: "org_a").quotas.first { $0.meter == "bookings" }
        }
        try fixture.move(to: "free")
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 30, idempotencyKey: "b1")
        #expect(try bookings()?.period == .day && bookings()?.used == 30)
        try fixture.move(to: "starter")
        #expect(try bookings()?.period == .month && bookings()?.used == 30)
        try fixture.move(to: "free")
        #expect(try bookings()?.used == 0)
    }

    /// Two counts of one period, joined, crossing 80% of the limit that
    /// neither crossed alone: the period's threshold event comes then.
    @Test(arguments: Backend.available) func countsJoinedAcrossAThresholdSetOffItsEvent(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)  // 22 November
        try fixture.move(to: "starter", periodStart: utc(2026, 11, 10), periodEnd: utc(2026, 12, 10))
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 500, idempotencyKey: "b1")
        try fixture.move(to: "starter", periodStart: utc(2026, 11, 20), periodEnd: utc(2026, 12, 20))
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 400, idempotencyKey: "b2")
        func thresholds() throws -> [OutboxEvent] {
            try fixture.service.events(organizationId: "org_a", cursor: nil, limit: 200).events.filter { $0.type == .quotaThreshold }
        }
        #expect(try thresholds().isEmpty)
        try fixture.move(to: "starter", periodStart: utc(2026, 11, 10), periodEnd: utc(2026, 12, 10))
        let events = try thresholds()
        #expect(events.count == 1)
        let event = try #require(events.first)
        #expect(event.data["meter"] == .string("bookings") && event.data["threshold"] == .integer(80))
        #expect(event.data["used"] == .integer(900) && event.data["limit"] == .integer(1000))
        #expect(event.data["periodStart"] == .string(RFC3339.string(utc(2026, 11, 10))))
    }

    /// A downgrade to a limit the period's count already passed announces
    /// both thresholds with the change, as no later use crosses them;
    /// changes that leave the limit as it was, or bring one back, announce
    /// nothing again.
    @Test(arguments: Backend.available) func aDowngradeThatLeavesAnOrganizationOverItsNewLimitSaysSo(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)  // 22 November
        func thresholds() throws -> [OutboxEvent] {
            try fixture.service.events(organizationId: "org_a", cursor: nil, limit: 200).events.filter { $0.type == .quotaThreshold }
        }
        try fixture.move(to: "starter")
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 500, idempotencyKey: "b1")
        #expect(try thresholds().isEmpty)
        try fixture.move(to: "free")  // bookings: 100 a month
        let events = try thresholds()
        #expect(events.count == 2 && Set(events.map { $0.data["threshold"] }) == [.integer(80), .integer(100)])
        for event in events {
            #expect(event.data["meter"] == .string("bookings") && event.data["limit"] == .integer(100))
            #expect(event.data["used"] == .integer(500))
            #expect(event.data["periodStart"] == .string(RFC3339.string(utc(2026, 11, 1))))
        }
        try fixture.move(to: "free", status: .pastDue)
        try fixture.move(to: "starter")
        try fixture.move(to: "free")
        #expect(try thresholds().count == 2)
    }

    /// A limit raised within a period has its own thresholds: 80% of the
    /// new one is announced when the count reaches it, although 80% of
    /// the old one was announced before.
    @Test(arguments: Backend.available) func aRaisedLimitHasItsOwnThresholdsToCross(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        func thresholds() throws -> [OutboxEvent] {
            try fixture.service.events(organizationId: "org_a", cursor: nil, limit: 200).events.filter { $0.type == .quotaThreshold }
        }
        try fixture.move(to: "free")
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 90, idempotencyKey: "b1")
        #expect(try thresholds().map { $0.data["limit"] } == [.integer(100)])
        try fixture.move(to: "starter")  // bookings: 1,000 a month
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 700, idempotencyKey: "b2")
        #expect(try thresholds().count == 1)
        _ = try fixture.service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 20, idempotencyKey: "b3")
        let events = try thresholds()
        #expect(events.count == 2)
        let raised = try #require(events.first { $0.data["limit"] == .integer(1000) })
        #expect(raised.data["threshold"] == .integer(80) && raised.data["used"] == .integer(810))
    }

    /// A flush writes organizations' counts in batches of their own, more
    /// of them than of keys' counts: every organization's requests count,
    /// however many organizations a flush holds.
    @Test(arguments: Backend.available) func everyOrganizationsRequestsCountWhateverTheFlushHolds(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let organizations = (0...KeygateService.flushBatch).map { "org_\($0)" }
        for organization in organizations {
            try fixture.move(organization, to: "pro")
            let key = try fixture.create(organization, kind: "owner_integration", capabilities: ["booking.read"])
            #expect(try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")).outcome == .valid)
        }
        try fixture.service.flushUsage()
        let requests = try organizations.map { organization in
            try fixture.service.quotas(organizationId: organization).quotas.first { $0.meter == "api.requests" }?.used
        }
        #expect(requests == Array(repeating: 1, count: organizations.count))
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

/// Two processes on one database with the channel manager's catalog:
/// `billing` applies billing events and reads quotas; `api` verifies one
/// `ari_read` key of 300 requests a minute, each verification a minute
/// after the last, so that it has the key's whole rate limit again.
private struct TwoProcesses {
    let billing: ServiceFixture
    let api: ServiceFixture
    let key: CreatedKey

    /// `org_a` on `plan`, its billing period from 20 November to 20 December.
    init(on plan: PlanID, backend: Backend) throws {
        let processes = try ServiceFixture.processes(2, catalog: "examples/channel-manager.xml", backend: backend)
        (billing, api) = (processes[0], processes[1])
        try billing.move(to: plan, periodStart: utc(2026, 11, 20), periodEnd: utc(2026, 12, 20))
        key = try billing.create(kind: "ari_read", capabilities: ["ari.read"], rateLimit: 300)
    }

    func verify(cost: Int) throws -> VerifyOutcome {
        api.clock.advance(by: 61)
        return try api.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "ari.read", cost: cost)).outcome
    }

    /// The organization's request quota, as the billing process reads it.
    func requests() throws -> QuotaState? {
        try billing.service.quotas(organizationId: "org_a").quotas.first { $0.meter == "api.requests" }
    }

    func thresholds() throws -> [OutboxEvent] {
        try billing.service.events(organizationId: "org_a", cursor: nil, limit: 200).events.filter { $0.type == .quotaThreshold }
    }
}
