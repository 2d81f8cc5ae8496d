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
}
