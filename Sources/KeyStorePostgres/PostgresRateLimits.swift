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
/// While the server cannot be reached, ``PostgresKeyStorage/RateLimitOutage`` decides.
final class PostgresRateLimits: SharedRateLimits {
    /// How long a reservation's cells may be used.
    static let leaseLifetime: Int64 = 1_000_000

    private let pool: PGPool
    private let outage: PostgresKeyStorage.RateLimitOutage
    private let leases = Locked([UInt64: Lease]())
    /// Arrival times for ``Outage/local``.
    private let local = Locked([UInt64: Int64]())

    private struct Lease {
        /// Cells reserved and not yet used.
        var cells = 0
        /// The interval the cells were reserved at (the limit may change).
        var interval: Int64 = 0
        var expiresAt: Int64 = 0
        /// No cell can be had before then (the last reservation got none).
        var blockedUntil: Int64 = 0
        /// The shared arrival time after the last reservation.
        var arrival: Int64 = 0
        /// Cells used from the current reservation: the demand the next one is sized by.
        var used = 0
    }

    init(pool: PGPool, outage: PostgresKeyStorage.RateLimitOutage) {
        self.pool = pool
        self.outage = outage
    }

    func admit(_ tag: UInt64, limit: Int, cost: Int, at now: Int64) -> GCRA.Decision {
        let interval = GCRA.minute / Int64(limit)
        // From the reservation in hand, without a round trip.
        enum Local { case decided(GCRA.Decision), reserve(want: Int, giveBack: Int) }
        let local: Local = leases.withLock { leases in
            var lease = leases[tag] ?? Lease()
            defer { leases[tag] = lease }
            if lease.interval == interval, now < lease.expiresAt, lease.cells >= cost {
                lease.cells -= cost
                lease.used += cost
                let free = max(0, Int((GCRA.minute - (lease.arrival - now)) / interval))
                return .decided(.allowed(remaining: free + lease.cells, resetAt: GCRA.date(max(lease.arrival, now))))
            }
            if lease.interval == interval, now < lease.blockedUntil {
                return .decided(.limited(retryAfter: Int((lease.blockedUntil - now + 999_999) / 1_000_000),
                                         resetAt: GCRA.date(lease.arrival)))
            }
            // Cells of an expired reservation (or reserved under another
            // limit, counted in today's cells) go back with the next one.
            let giveBack = lease.interval == 0 ? 0 : Int(Int64(lease.cells) * lease.interval / interval)
            // Four times what the last reservation served (4 to begin
            // with), up to two seconds of the key's limit: a busy key gets
            // to its largest reservation in two or three round trips, and
            // no host holds more than it could use before giving it back.
            let largest = max(1, limit / 30)
            let want = max(cost, min(largest, max(4, 4 * lease.used)))
            lease = Lease()
            return .reserve(want: want, giveBack: giveBack)
        }
        guard case .reserve(let want, let giveBack) = local else {
            if case .decided(let decision) = local { return decision }
            preconditionFailure()
        }
        let granted: Int
        let arrival: Int64
        do {
            let result = try pool.read { connection in
                try connection.query("SELECT granted, arrival FROM keygate_lease($1, $2, $3, $4, $5, $6)", [
                    .integer(Int64(bitPattern: tag)), .integer(now), .integer(interval), .of(want), .of(cost), .of(giveBack),
                ])
            }
            granted = result.int(0, 0) ?? 0
            arrival = result.int64(0, 1) ?? now
        } catch {
            return admitDuringOutage(tag, limit: limit, cost: cost, at: now)
        }
        return leases.withLock { leases in
            var lease = leases[tag] ?? Lease()
            defer { leases[tag] = lease }
            lease.interval = interval
            lease.arrival = max(lease.arrival, arrival)
            guard granted >= cost else {
                // The first moment `cost` cells fit again.
                lease.blockedUntil = arrival + interval * Int64(cost) - GCRA.minute
                return .limited(retryAfter: Int((lease.blockedUntil - now + 999_999) / 1_000_000), resetAt: GCRA.date(arrival))
            }
            lease.cells += granted - cost
            lease.used = cost
            lease.expiresAt = now + Self.leaseLifetime
            lease.blockedUntil = 0
            let free = max(0, Int((GCRA.minute - (arrival - now)) / interval))
            return .allowed(remaining: free + lease.cells, resetAt: GCRA.date(arrival))
        }
    }

    private func admitDuringOutage(_ tag: UInt64, limit: Int, cost: Int, at now: Int64) -> GCRA.Decision {
        switch outage {
        case .refuse:
            return .limited(retryAfter: 1, resetAt: GCRA.date(now + 1_000_000))
        case .local:
            return local.withLock { arrivals in GCRA.admit(&arrivals[tag, default: 0], limit: limit, cost: cost, at: now) }
        }
    }
}
