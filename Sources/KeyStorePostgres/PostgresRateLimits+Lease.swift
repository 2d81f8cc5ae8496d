import KeyStore

/// A key's reservations on this host, and what a verification decides from them.
extension PostgresRateLimits {
    /// A reservation ahead, asked for by a verification and sent by the worker.
    struct Ahead {
        var tag: UInt64
        var now: Int64
        var interval: Int64
        var want: Int
        var giveBack: Int
        /// The lease's generation when asked: a lease that started over
        /// since (under another limit) does not take the cells as its own.
        var generation: UInt32
    }

    /// A key's cells on this host: the current reservation, the next one
    /// reserved ahead, and what goes back to the shared time with the next
    /// reservation. Changed only under the rate limits' lock.
    struct Lease {
        /// Cells reserved and not yet used.
        var cells = 0
        /// The interval the cells were reserved at (the limit may change); 0 before any.
        var interval: Int64 = 0
        var expiresAt: Int64 = 0
        /// No cell can be had before then (the last reservation got none).
        var blockedUntil: Int64 = 0
        /// When that was learnt. A clock now more than
        /// ``GCRA/clockTolerance`` behind it was stepped back since, and
        /// the block, reckoned on the old clock, is not trusted: the next
        /// request asks the server, which holds the key to at most a
        /// minute ahead (migration 12).
        var blockedSince: Int64 = 0
        /// The shared arrival time after the last reservation.
        var arrival: Int64 = 0
        /// Cells used from the current reservation: the demand the next one is sized by.
        var used = 0
        /// Cells the current reservation brought.
        var size = 0
        /// The next reservation, taken ahead while the current one lasts.
        var spare = 0
        var spareExpiresAt: Int64 = 0
        /// A reservation ahead is on its way.
        var reservingAhead = false
        /// Requests waiting for a reservation of their own.
        var waiting = 0
        /// Cells of reservations that ended unused, in units of `interval`:
        /// they go back with the next reservation.
        var owed = 0
        /// Moves on when the lease starts over under another limit.
        var generation: UInt32 = 0

        /// Nothing usable in hand and nothing on its way: forgetting the
        /// lease loses only cells owed back (under-admission, until the
        /// key's time passes them) and the demand its next size follows.
        func isQuiet(at now: Int64) -> Bool {
            !reservingAhead && waiting == 0 && (cells == 0 || now >= expiresAt) && (spare == 0 || now >= spareExpiresAt)
                && !isBlocked(at: now)
        }

        /// Whether the last refusal still holds at `now`.
        func isBlocked(at now: Int64) -> Bool {
            now < blockedUntil && now >= blockedSince - GCRA.clockTolerance
        }

        enum Local {
            case decided(GCRA.Decision, ahead: Ahead?)
            case reserve(want: Int, giveBack: Int)
        }

        /// From the reservation in hand, without waiting for the server; or
        /// what to reserve now, the unused cells to give back with it.
        mutating func admit(_ tag: UInt64, _ cost: Int, limit: Int, interval: Int64, at now: Int64) -> Local {
            adopt(interval)
            settle(at: now)
            if cells < cost, spare > 0 {
                owed += cells
                (cells, size, used, expiresAt, spare) = (spare, spare, 0, spareExpiresAt, 0)
            }
            if cells >= cost {
                cells -= cost
                used += cost
                var ahead: Ahead?
                if !reservingAhead, spare == 0, size >= PostgresRateLimits.smallestReservedAhead, cells * 2 <= size {
                    reservingAhead = true
                    ahead = Ahead(tag: tag, now: now, interval: interval, want: nextSize(limit: limit),
                                  giveBack: owed, generation: generation)
                    owed = 0
                }
                return .decided(allowed(at: now, resetAt: max(arrival, now)), ahead: ahead)
            }
            if isBlocked(at: now) {
                return .decided(.limited(retryAfter: GCRA.seconds(until: blockedUntil, from: now), resetAt: GCRA.date(arrival)),
                                ahead: nil)
            }
            let want = max(cost, nextSize(limit: limit))
            let giveBack = owed + cells
            (owed, cells) = (0, 0)
            waiting += 1
            return .reserve(want: want, giveBack: giveBack)
        }

        /// On the first use, or when the key's limit changed: what is held
        /// goes back, counted in the new limit's cells.
        private mutating func adopt(_ interval: Int64) {
            guard self.interval != interval else { return }
            let held = self.interval == 0 ? 0 : Int(Int64(cells + spare + owed) * self.interval / interval)
            self = Lease(arrival: arrival, waiting: waiting, generation: generation &+ 1)
            self.interval = interval
            owed = held
        }

        /// Cells whose reservation ended go back with the next one.
        private mutating func settle(at now: Int64) {
            if cells > 0, now >= expiresAt {
                owed += cells
                cells = 0
            }
            if spare > 0, now >= spareExpiresAt {
                owed += spare
                spare = 0
            }
        }

        /// What to reserve for `count` admissions about to be made
        /// (``PostgresRateLimits/prepare(_:at:)``): what an admission would
        /// reserve alone, or the cells they need if more (within the
        /// largest reservation), when nothing usable is in hand, no
        /// reservation is on its way and no refusal holds; else `nil`,
        /// and the admissions go on as they would have.
        mutating func prepare(_ tag: UInt64, count: Int, limit: Int, interval: Int64, at now: Int64) -> Ahead? {
            adopt(interval)
            settle(at: now)
            guard cells == 0, spare == 0, !reservingAhead, waiting == 0, !isBlocked(at: now) else { return nil }
            let want = max(nextSize(limit: limit), min(count, max(1, limit / 30)))
            let giveBack = owed
            owed = 0
            waiting += 1
            return Ahead(tag: tag, now: now, interval: interval, want: want, giveBack: giveBack, generation: generation)
        }

        /// Takes in a prepared reservation (nil: it failed, and each
        /// admission reserves alone as it would have).
        mutating func receive(prepared request: Ahead, granted: Int?, arrival: Int64) {
            waiting = max(0, waiting - 1)
            guard let granted = usable(request, granted: granted) else { return }
            deposit(granted, arrival: arrival, interval: request.interval, at: request.now)
        }

        /// The cells a reservation sent for `request` (ahead, or prepared)
        /// brings this lease; `nil` when they go back with the next
        /// reservation instead: asked for under a limit the key no longer
        /// has, or failed (the cells it was to give back are still owed).
        private mutating func usable(_ request: Ahead, granted: Int?) -> Int? {
            guard request.generation == generation else {
                owed += Int(Int64(granted ?? request.giveBack) * request.interval / interval)
                return nil
            }
            guard let granted else {
                owed += request.giveBack
                return nil
            }
            return granted
        }

        /// Takes in what a reservation made for this request granted, and answers it.
        mutating func receive(_ granted: Int, arrival: Int64, cost: Int, interval: Int64, at now: Int64) -> GCRA.Decision {
            waiting = max(0, waiting - 1)
            self.arrival = max(self.arrival, arrival)
            guard self.interval == interval else {
                // The limit changed meanwhile: the request is answered by
                // its own reservation, what is left goes back in the new
                // limit's cells.
                if self.interval > 0 { owed += Int(Int64(max(0, granted - cost)) * interval / self.interval) }
                return granted >= cost ? .allowed(remaining: 0, resetAt: GCRA.date(arrival))
                    : .limited(retryAfter: 1, resetAt: GCRA.date(arrival))
            }
            guard granted >= cost else {
                owed += granted
                // The first moment `cost` cells fit again.
                (blockedUntil, blockedSince) = (arrival + interval * Int64(cost) - GCRA.minute, now)
                return .limited(retryAfter: GCRA.seconds(until: blockedUntil, from: now), resetAt: GCRA.date(arrival))
            }
            cells += granted - cost
            size = granted
            used = cost
            expiresAt = now + PostgresRateLimits.leaseLifetime
            blockedUntil = 0
            return allowed(at: now, resetAt: arrival)
        }

        /// Four times what the current reservation served (4 to begin
        /// with), up to two seconds of the key's limit: a busy key gets to
        /// its largest reservation in two or three reservations, and no host
        /// holds more than it could use before giving it back.
        private func nextSize(limit: Int) -> Int {
            min(max(1, limit / 30), max(4, 4 * used))
        }

        /// An admission: what the shared time leaves free, and the cells in hand.
        private func allowed(at now: Int64, resetAt: Int64) -> GCRA.Decision {
            let free = max(0, Int((GCRA.minute - (arrival - now)) / interval))
            return .allowed(remaining: free + cells + spare, resetAt: GCRA.date(resetAt))
        }

        /// Takes in a first reservation taken with the key's read, under
        /// the key's own limit. The plan may hold the key to a lower one:
        /// then the cells go back with the reservation made at that limit.
        /// Cells already in hand (another thread's) stay; these go back.
        mutating func deposit(_ granted: Int, arrival: Int64, interval: Int64, at now: Int64) {
            self.arrival = max(self.arrival, arrival)
            if self.interval == 0 { self.interval = interval }
            guard self.interval == interval else {
                owed += Int(Int64(granted) * interval / self.interval)
                return
            }
            guard granted > 0 else {
                // Every cell is taken: refused locally until one could be free.
                let standing = isBlocked(at: now) ? blockedUntil : 0
                (blockedUntil, blockedSince) = (max(standing, arrival + interval - GCRA.minute), now)
                return
            }
            guard cells == 0 || now >= expiresAt else {
                owed += granted
                return
            }
            owed += cells
            (cells, size, used, expiresAt) = (granted, granted, 0, now + PostgresRateLimits.leaseLifetime)
        }

        /// Takes in a reservation ahead (nil: it failed).
        mutating func receive(ahead request: Ahead, granted: Int?, arrival: Int64) {
            // A lease started over under another limit is not reserving ahead.
            if request.generation == generation { reservingAhead = false }
            guard let granted = usable(request, granted: granted) else { return }
            self.arrival = max(self.arrival, arrival)
            guard granted > 0 else {
                (blockedUntil, blockedSince) = (arrival + interval - GCRA.minute, request.now)
                return
            }
            owed += spare
            spare = granted
            spareExpiresAt = request.now + PostgresRateLimits.leaseLifetime
        }
    }
}
