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

        enum Local {
            case decided(GCRA.Decision)
            case reserve(want: Int, giveBack: Int)
        }

        /// From the reservation in hand, without a round trip; or what to
        /// reserve next, the old reservation's unused cells to give back.
        mutating func admit(_ cost: Int, limit: Int, interval: Int64, at now: Int64) -> Local {
            if self.interval == interval, now < expiresAt, cells >= cost {
                cells -= cost
                used += cost
                let free = max(0, Int((GCRA.minute - (arrival - now)) / interval))
                return .decided(.allowed(remaining: free + cells, resetAt: GCRA.date(max(arrival, now))))
            }
            if self.interval == interval, now < blockedUntil {
                return .decided(.limited(retryAfter: Int((blockedUntil - now + 999_999) / 1_000_000),
                                         resetAt: GCRA.date(arrival)))
            }
            // Cells of an expired reservation (or reserved under another
            // limit, counted in today's cells) go back with the next one.
            let giveBack = self.interval == 0 ? 0 : Int(Int64(cells) * self.interval / interval)
            // Four times what the last reservation served (4 to begin
            // with), up to two seconds of the key's limit: a busy key gets
            // to its largest reservation in two or three round trips, and
            // no host holds more than it could use before giving it back.
            let largest = max(1, limit / 30)
            let want = max(cost, min(largest, max(4, 4 * used)))
            self = Lease()
            return .reserve(want: want, giveBack: giveBack)
        }

        /// Takes in what a reservation granted, and answers the request that asked for it.
        mutating func receive(_ granted: Int, arrival: Int64, cost: Int, interval: Int64, at now: Int64) -> GCRA.Decision {
            self.interval = interval
            self.arrival = max(self.arrival, arrival)
            guard granted >= cost else {
                // The first moment `cost` cells fit again.
                blockedUntil = arrival + interval * Int64(cost) - GCRA.minute
                return .limited(retryAfter: Int((blockedUntil - now + 999_999) / 1_000_000), resetAt: GCRA.date(arrival))
            }
            cells += granted - cost
            used = cost
            expiresAt = now + PostgresRateLimits.leaseLifetime
            blockedUntil = 0
            let free = max(0, Int((GCRA.minute - (arrival - now)) / interval))
            return .allowed(remaining: free + cells, resetAt: GCRA.date(arrival))
        }
    }

    init(pool: PGPool, outage: PostgresKeyStorage.RateLimitOutage) {
        self.pool = pool
        self.outage = outage
    }

    func admit(_ tag: UInt64, limit: Int, cost: Int, at now: Int64) -> GCRA.Decision {
        let interval = GCRA.minute / Int64(limit)
        // Each key's lease changed in place: one hash on the verify path.
        let local = leases.withLock { $0[tag, default: Lease()].admit(cost, limit: limit, interval: interval, at: now) }
        guard case .reserve(let want, let giveBack) = local else {
            if case .decided(let decision) = local { return decision }
            preconditionFailure("a local answer is decided or asks for a reservation")
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
        return leases.withLock {
            $0[tag, default: Lease()].receive(granted, arrival: arrival, cost: cost, interval: interval, at: now)
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
