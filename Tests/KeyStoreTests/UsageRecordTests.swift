import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// `usage.record`'s idempotency as each store keeps it: a key names one
/// call, and a second call under it is a replay only when it is that call.
@Suite("Usage records")
struct UsageRecordTests {
    let period = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: Backend.withPooler) func aKeyReusedForAnotherCallNamesWhatDiffersAndRecordsNothing(_ backend: Backend) throws {
        let storage = try StoreFixture(backend).storage
        func add(_ amount: Int, to meter: String = "bookings", reserve: Bool = false, limit: Int? = nil)
            throws(KeyStoreError) -> (used: Int, replayed: Bool)
        {
            try storage.add(amount, to: meter, periodStart: period, organizationId: "org_a", idempotencyKey: "use-1",
                            reserve: reserve, limit: limit)
        }
        let first = try add(5)
        #expect(first.used == 5 && !first.replayed)
        // Kelvin sign: canonically "K", not byte for byte, as the database keys meters.
        for (differs, call) in [
            ("meter", { () throws(KeyStoreError) in _ = try add(5, to: "bookings.\u{212A}") }),
            ("meter", { () throws(KeyStoreError) in _ = try add(5, to: "reservations") }),
            ("amount", { () throws(KeyStoreError) in _ = try add(6) }),
            ("reserve", { () throws(KeyStoreError) in _ = try add(5, reserve: true, limit: 100) }),
        ] as [(String, () throws(KeyStoreError) -> Void)] {
            let error = #expect(throws: KeyStoreError.self) { try call() }
            #expect(error?.code == .idempotencyKeyReused && error?.field == "idempotencyKey", "\(String(describing: error))")
            #expect(error?.parameters == ["differs": differs])
        }
        let replay = try add(5)
        #expect(replay.used == 5 && replay.replayed)
        let readings = try storage.readings(
            organizationId: "org_a", periods: [("bookings", period), ("bookings.\u{212A}", period), ("reservations", period)])
        #expect(readings.map(\.used) == [5, 0, 0], "nothing refused was recorded")
    }

    /// A reservation remembered as one: its retry is a replay whatever the
    /// limit is now, and a call under its key that does not reserve is not.
    @Test(arguments: Backend.withPooler) func aReservationsRetryIsAReplayWhateverTheLimitIsNow(_ backend: Backend) throws {
        let storage = try StoreFixture(backend).storage
        func add(reserve: Bool, limit: Int?) throws(KeyStoreError) -> (used: Int, replayed: Bool) {
            try storage.add(8, to: "bookings", periodStart: period, organizationId: "org_a", idempotencyKey: "r-1",
                            reserve: reserve, limit: limit)
        }
        #expect(try add(reserve: true, limit: nil) == (8, false))
        #expect(try add(reserve: true, limit: 5) == (8, true))
        let error = #expect(throws: KeyStoreError.self) { try add(reserve: false, limit: nil) }
        #expect(error?.parameters == ["differs": "reserve"])
    }

    /// Billing moving a period's start earlier: the counts of the periods
    /// the old start gave, inside the new one, join it as one count, and
    /// every process's verification hears of it as of a flush.
    @Test(arguments: Backend.withPooler) func countsUnderLaterStartsAreCarriedIntoTheirPeriod(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let storage = store.storage
        let day: TimeInterval = 86_400
        let (before, start, inside, later, end) = (period - 3 * day, period, period + 4 * day, period + 9 * day, period + 30 * day)
        try storage.flush(usage: [], meters: [
            MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: before, amount: 1),
            MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: start, amount: 10),
            MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: inside, amount: 200),
            MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: end, amount: 3_000),
            MeterIncrement(organizationId: "org_a", meter: "bookings", periodStart: inside, amount: 40_000),
            MeterIncrement(organizationId: "org_b", meter: "api.requests", periodStart: inside, amount: 500_000),
        ], identity: "flush-1")
        _ = try storage.add(20, to: "api.requests", periodStart: later, organizationId: "org_a", idempotencyKey: "u1",
                            reserve: false, limit: nil)
        let token = try storage.changeToken()

        let carried = try storage.carryCounts(organizationId: "org_a", meter: "api.requests", into: start, before: end)
        #expect(carried == (220, 230))
        let counts = { (organization: String, meter: String) throws in
            try storage.readings(organizationId: organization, periods: [before, start, inside, later, end].map { (meter, $0) })
                .map(\.used)
        }
        #expect(try counts("org_a", "api.requests") == [1, 230, 0, 0, 3_000], "the periods before and after keep theirs")
        #expect(try counts("org_a", "bookings") == [0, 0, 40_000, 0, 0], "another meter keeps its own")
        #expect(try counts("org_b", "api.requests") == [0, 0, 500_000, 0, 0], "another organization keeps its own")
        let moved = try storage.changeToken()
        #expect(moved.counts > token.counts)
        let changes = try storage.meterChanges(meter: "api.requests", after: token.counts, through: moved.counts)
        #expect(changes.map { "\($0.organizationId) \($0.periodStart) \($0.used)" } == ["org_a \(start) 230"])

        #expect(try storage.carryCounts(organizationId: "org_a", meter: "api.requests", into: start, before: end) == (0, 230))
        #expect(try storage.changeToken().counts == moved.counts, "nothing to carry moves nothing")
        // Into a period nothing was counted under yet, and with no end.
        #expect(try storage.carryCounts(organizationId: "org_a", meter: "bookings", into: before, before: nil) == (40_000, 40_000))
        #expect(try counts("org_a", "bookings") == [40_000, 0, 0, 0, 0])
    }
}
