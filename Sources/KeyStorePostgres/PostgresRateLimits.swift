import Dispatch
import Foundation
import KeyStore
import Locking

/// One rate limit per key across every host, without a round trip for
/// most verifications.
///
/// Each key's GCRA arrival time lives in one row (an unlogged table, see
/// the schema). A process reserves a few of a key's cells at a time with
/// one statement, which admits them exactly as GCRA would at that moment
/// and moves the shared arrival time past them, then admits requests from
/// its reservation locally. A reservation lasts a second; cells it did not
/// use go back with the next reservation, so what all hosts admit never
/// exceeds what GCRA allows one host seeing every request. Its size
/// follows the key's recent demand on this host, up to two seconds' worth
/// of the key's limit: a key verified once a minute costs a round trip per
/// verification, a busy one a round trip per second or so. A key out of
/// cells is refused locally until a cell could be free again.
///
/// A busy key's next reservation is taken ahead, off the verifying thread:
/// when half of a reservation of at least ``smallestReservedAhead`` cells
/// is used, a worker thread reserves the next one, for every key that asks
/// at about the same time in one statement, and it is used when the
/// current one runs out or ends. So a verification waits for the server
/// only for a key that has nothing in hand: its first verification (and
/// then the key's read has taken its first reservation, see
/// ``PostgresKeyStorage/find(digest:)``), or one after a quiet second. A
/// key's limit of under 120 a minute never
/// gets there (its largest reservation is smaller), and is reserved a cell
/// or two at a time as it is used. The keys of one pipelined read that
/// have nothing in hand are reserved for together, in one statement,
/// before their verifications are answered (``prepare(_:at:)``).
///
/// While the server cannot be reached, ``PostgresKeyStorage/RateLimitOutage`` decides.
final class PostgresRateLimits: SharedRateLimits {
    /// How long a reservation's cells may be used.
    static let leaseLifetime: Int64 = 1_000_000
    /// The smallest reservation whose successor is taken ahead.
    static let smallestReservedAhead = 4
    /// Reservations ahead sent in one statement, at most.
    static let batchLimit = 500

    private let pool: PGPool
    private let outage: PostgresKeyStorage.RateLimitOutage
    private let shared: Shared
    /// Arrival times for ``Outage/local``.
    private let local: Locked<Sweeping<Int64>>

    /// A table of what this process knows of keys it verified, which
    /// forgets keys gone quiet once it has doubled since it last did (from
    /// `floor` entries): so its size follows the keys in use now, not every
    /// key ever verified, and the sweeps cost a constant per key added.
    struct Sweeping<Value> {
        var entries: [UInt64: Value] = [:]
        let floor: Int
        private var sweepAt = 0

        init(floor: Int) {
            self.floor = floor
        }

        /// Runs `body` on `tag`'s entry (`fresh` if there is none), after
        /// dropping the entries `isQuiet` picks if a sweep is due. The sweep
        /// comes first: the entry about to be touched may look quiet (a
        /// lease only now asking for a reservation) and must outlive it.
        mutating func touch<Result>(_ tag: UInt64, fresh: Value, sweepingIf isQuiet: (Value) -> Bool,
                                    _ body: (inout Value) -> Result) -> Result {
            if entries.count >= max(floor, sweepAt) {
                entries = entries.filter { !isQuiet($0.value) }
                sweepAt = 2 * entries.count
            }
            return body(&entries[tag, default: fresh])
        }
    }

    /// What verifications and the worker share.
    private final class Shared: Sendable {
        struct State {
            var leases: Sweeping<Lease>
            var ahead: [Ahead] = []
            var workerStarted = false
            var stopped = false
            /// Admissions that waited for a reservation of their own.
            var admissionsWaited = 0
        }
        let state: Locked<State>
        /// Signalled when the queue of reservations ahead stops being empty, and at the end.
        let wake = DispatchSemaphore(value: 0)

        init(sweepFloor: Int) {
            state = Locked(State(leases: Sweeping(floor: sweepFloor)))
        }
    }

    init(pool: PGPool, outage: PostgresKeyStorage.RateLimitOutage, sweepFloor: Int = 4_096) {
        self.pool = pool
        self.outage = outage
        local = Locked(Sweeping(floor: sweepFloor))
        shared = Shared(sweepFloor: sweepFloor)
    }

    /// The cells of a key's current reservation on this process.
    func cellsInHand(_ tag: UInt64) -> Int {
        shared.state.withLock { $0.leases.entries[tag]?.cells ?? 0 }
    }

    /// Keys this process holds a lease for, and arrival times kept for an outage.
    var counts: (leases: Int, outage: Int) {
        (shared.state.withLock { $0.leases.entries.count }, local.withLock { $0.entries.count })
    }

    deinit {
        let started = shared.state.withLock { state in
            state.stopped = true
            return state.workerStarted
        }
        if started { shared.wake.signal() }
    }

    func admit(_ tag: UInt64, limit: Int, cost: Int, at now: Int64) -> GCRA.Decision {
        let interval = GCRA.minute / Int64(limit)
        // Each key's lease changed in place: one hash on the verify path.
        let local = shared.state.withLock { state in
            let local = state.leases.touch(tag, fresh: Lease(), sweepingIf: { $0.isQuiet(at: now) }) {
                $0.admit(tag, cost, limit: limit, interval: interval, at: now)
            }
            switch local {
            case .decided(_, let ahead?): enqueue(ahead, &state)
            case .decided: break
            case .reserve: state.admissionsWaited += 1
            }
            return local
        }
        guard case .reserve(let want, let giveBack) = local else {
            if case .decided(let decision, _) = local { return decision }
            preconditionFailure("a local answer is decided or asks for a reservation")
        }
        let granted: Int
        let arrival: Int64
        do {
            let result = try pool.read { connection in
                try connection.query(Self.reserveOne, [
                    .integer(Int64(bitPattern: tag)), .integer(now), .integer(interval), .of(want), .of(giveBack), .of(cost),
                ])
            }
            granted = result.int(0, 1) ?? 0
            arrival = result.int64(0, 2) ?? now
        } catch {
            shared.state.withLock { $0.leases.entries[tag]?.waiting -= 1 }
            return admitDuringOutage(tag, limit: limit, cost: cost, at: now)
        }
        return shared.state.withLock {
            $0.leases.entries[tag, default: Lease()].receive(granted, arrival: arrival, cost: cost, interval: interval, at: now)
        }
    }

    /// Takes in the reservation a key's read took (``PostgresKeyStorage/find(digest:)``),
    /// reserved at `now` under the key's own limit, `interval` apart.
    func deposit(_ tag: UInt64, granted: Int, arrival: Int64, interval: Int64, at now: Int64) {
        shared.state.withLock { state in
            state.leases.touch(tag, fresh: Lease(), sweepingIf: { $0.isQuiet(at: now) }) {
                $0.deposit(granted, arrival: arrival, interval: interval, at: now)
            }
        }
    }

    var admissionsWaited: Int {
        shared.state.withLock { $0.admissionsWaited }
    }

    /// Reserves, in one statement (per ``batchLimit`` keys), for each key of
    /// a pipelined read that has nothing usable in hand: what each of its
    /// verifications would otherwise have waited a round trip for, one
    /// after another, on the verifying thread. Realistic traffic's keys
    /// verified less than once a second (about a quarter of its requests) each
    /// found their last reservation ended (docs/PERFORMANCE.md).
    func prepare(_ demands: [RateDemand], at now: Int64) -> Int {
        let wanted: [Ahead] = shared.state.withLock { state in
            demands.compactMap { demand in
                state.leases.touch(demand.tag, fresh: Lease(), sweepingIf: { $0.isQuiet(at: now) }) {
                    $0.prepare(demand.tag, count: demand.count, limit: demand.limit,
                               interval: GCRA.minute / Int64(demand.limit), at: now)
                }
            }
        }
        Self.reserve(wanted, pool: pool, shared: shared) { $0.receive(prepared: $1, granted: $2, arrival: $3) }
        return wanted.count
    }

    /// Queues a reservation ahead for the worker, starting it the first time.
    private func enqueue(_ ahead: Ahead, _ state: inout Shared.State) {
        state.ahead.append(ahead)
        guard state.ahead.count == 1 else { return }
        if !state.workerStarted {
            state.workerStarted = true
            let (pool, shared) = (pool, shared)
            let thread = Thread { Self.reserveAhead(pool: pool, shared: shared) }
            thread.name = "keygate-reserve"
            thread.start()
        }
        shared.wake.signal()
    }

    /// The worker: reserves what verifications queued and hands each lease
    /// its cells. Ends when the rate limits are gone.
    private static func reserveAhead(pool: PGPool, shared: Shared) {
        while true {
            shared.wake.wait()
            let queued: [Ahead]? = shared.state.withLock { state in
                if state.stopped { return nil }
                defer { state.ahead.removeAll(keepingCapacity: true) }
                return state.ahead
            }
            guard let queued else { return }
            reserve(queued, pool: pool, shared: shared) { $0.receive(ahead: $1, granted: $2, arrival: $3) }
        }
    }

    /// The statement that reserves for each key `requests` selects, as
    /// (`tag`, `now`, `step`, `want`, `give_back`), each key once: up to
    /// `want` cells, at least `need` or none, at `now` (microseconds),
    /// `step` apart, after giving back `give_back` cells an earlier
    /// reservation did not use. One insert or update of each key's row,
    /// in tag order, so that two hosts' statements, each locking several
    /// keys' rows, wait for each other instead of deadlocking (migration
    /// 28 keeps the arithmetic). Returns each key's `tag`, the cells
    /// `granted` and the key's shared time after them, `arrival`.
    static func reserving(_ requests: String, need: String) -> String {
        typealias Request = (now: String, step: String, want: String, giveBack: String)
        func call(_ function: String, arrival: String, _ request: Request) -> String {
            "keygate_reservation_\(function)(\(arrival), \(request.now), \(request.step), \(request.want), \(need), "
                + "\(request.giveBack))"
        }
        let asked: Request = ("q.now", "q.step", "q.want", "q.give_back")
        // A key with a row: the update sees the request only as the row
        // proposed for it (`excluded`), in the columns that keep it.
        let proposed: Request = ("excluded.reserved_at", "excluded.step", "excluded.asked", "excluded.given_back")
        return """
            INSERT INTO rate_limit AS r (tag, reserved_at, step, asked, given_back, granted, arrival)
            SELECT q.tag, q.now, q.step, q.want, q.give_back,
                   \(call("cells", arrival: "0", asked)), \(call("end", arrival: "0", asked))
            FROM (\(requests)) AS q (tag, now, step, want, give_back)
            ORDER BY q.tag
            ON CONFLICT (tag) DO UPDATE SET
                reserved_at = excluded.reserved_at, step = excluded.step, asked = excluded.asked,
                given_back = excluded.given_back,
                granted = \(call("cells", arrival: "r.arrival", proposed)),
                arrival = \(call("end", arrival: "r.arrival", proposed))
            RETURNING r.tag, r.granted, r.arrival
            """
    }

    /// One key's reservation, at least `$6` cells: for an admission that waits for it.
    static let reserveOne = reserving(
        "VALUES ($1::bigint, $2::bigint, $3::bigint, $4::integer, $5::integer)", need: "$6::integer")

    /// Several keys' reservations, a cell at least, the requests as arrays.
    static let reserveMany = reserving(
        "SELECT * FROM unnest($1::bigint[], $2::bigint[], $3::bigint[], $4::integer[], $5::integer[])", need: "1")

    /// `requests` as the statements that reserve for them: in tag order
    /// (the order every host locks keys' rows in), ``batchLimit`` at most
    /// a statement, and each key once a statement, as one insert or update
    /// of a row can only be made once in a statement: a tag asked for
    /// again (not asked by leases, which wait for the reservation on its
    /// way) goes in a later statement.
    static func statements(for requests: [Ahead]) -> [[Ahead]] {
        var statements: [[Ahead]] = []
        var again: [Ahead] = []
        for request in requests.sorted(by: { Int64(bitPattern: $0.tag) < Int64(bitPattern: $1.tag) }) {
            if statements.last?.last?.tag == request.tag {
                again.append(request)
                continue
            }
            if statements.last.map({ $0.count >= batchLimit }) ?? true { statements.append([]) }
            statements[statements.count - 1].append(request)
        }
        return again.isEmpty ? statements : statements + self.statements(for: again)
    }

    /// Reserves for `requests` (``statements(for:)``); hands each key's
    /// lease still held, under the lock, what its request was granted and
    /// the key's shared time to `receive` (`nil` cells: the server away,
    /// and the key reserves again when it runs out).
    private static func reserve(_ requests: [Ahead], pool: PGPool, shared: Shared,
                                receive: (inout Lease, Ahead, _ granted: Int?, _ arrival: Int64) -> Void) {
        for batch in statements(for: requests) {
            let result = try? pool.read { connection in
                try connection.query(reserveMany, [
                    .text(PostgresKeyStorage.integerArray(batch.map { Int64(bitPattern: $0.tag) })),
                    .text(PostgresKeyStorage.integerArray(batch.map(\.now))),
                    .text(PostgresKeyStorage.integerArray(batch.map(\.interval))),
                    .text(PostgresKeyStorage.integerArray(batch.map { Int64($0.want) })),
                    .text(PostgresKeyStorage.integerArray(batch.map { Int64($0.giveBack) })),
                ])
            }
            var reserved: [UInt64: (granted: Int, arrival: Int64)] = [:]
            if let result {
                for row in 0..<result.count {
                    guard let tag = result.int64(row, 0) else { continue }
                    reserved[UInt64(bitPattern: tag)] = (result.int(row, 1) ?? 0, result.int64(row, 2) ?? 0)
                }
            }
            shared.state.withLock { state in
                for request in batch {
                    guard let lease = state.leases.entries.index(forKey: request.tag) else { continue }
                    let answer = reserved[request.tag]
                    receive(&state.leases.entries.values[lease], request, answer?.granted, answer?.arrival ?? request.now)
                }
            }
        }
    }

    private func admitDuringOutage(_ tag: UInt64, limit: Int, cost: Int, at now: Int64) -> GCRA.Decision {
        switch outage {
        case .refuse:
            return .limited(retryAfter: 1, resetAt: GCRA.date(now + 1_000_000))
        case .local:
            return local.withLock { arrivals in
                // A key whose time has passed is at its full allowance, as one never seen.
                arrivals.touch(tag, fresh: 0, sweepingIf: { $0 <= now }) {
                    GCRA.admit(&$0, limit: limit, cost: cost, at: now)
                }
            }
        }
    }
}
