import CLibPQ
import Foundation
import KeyStore
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// Where the store's change token comes from on PostgreSQL.
///
/// Strict: each call asks the server (the change log's head and the count
/// log's version, one round trip). Notified: a connection of its own
/// LISTENs on ``PostgresSchema/changeChannel``, on which every change of a
/// key, a secret or a subscription announces the log's new position at its
/// commit; calls read what it last heard, without a round trip. The server
/// is asked again after this store's own writes (so this process never
/// answers from before its own commit), and at least every `poll` seconds
/// whatever it heard: the bound on staleness while the listening
/// connection is down or a notification is lost, and how often usage
/// counts flushed by other hosts, which are never announced, are read
/// again. Polled: the same without listening (for a pooler such as
/// PgBouncer in transaction mode, which cannot pass LISTEN through).
///
/// While the server cannot be asked, notified and polled watches answer
/// with the last token for at most `grace` after the server last answered,
/// then fail: a partition that cuts this host off alone leaves other hosts
/// committing (a revocation, say), and what this one holds would be stale
/// for as long as it lasted.
final class ChangeWatch: Sendable {
    private let pool: PGPool
    private let pollInterval: UInt64?
    /// How long the last token is answered with while polls fail.
    private let grace: Duration
    private let shared: Shared

    /// What the listener and callers share.
    private final class Shared: Sendable {
        struct State {
            var token: ChangeToken?
            var polledAt: UInt64 = 0
            /// Set when the listening connection could not be set up or was
            /// lost, until it listens again: changes then arrive by the poll.
            /// Not set before the first attempt, a few milliseconds at start.
            var listenerDown = false
            var mustPoll = true
        }
        let state = Locked(State())
        let stopped = Locked(false)
    }

    init(pool: PGPool, freshness: PostgresKeyStorage.Freshness, grace: Duration) {
        self.pool = pool
        self.grace = grace
        shared = Shared()
        switch freshness {
        case .strict:
            pollInterval = nil
        case .polled(let every):
            pollInterval = UInt64(max(0.001, every) * 1_000_000_000)
        case .notified(let poll):
            pollInterval = UInt64(max(0.001, poll) * 1_000_000_000)
            let shared = self.shared
            let thread = Thread { Self.listen(pool: pool, shared: shared) }
            thread.name = "keygate-listen"
            thread.start()
        }
    }

    deinit {
        shared.stopped.withLock { $0 = true }
    }

    /// The current token, from memory when that is current enough.
    func token() throws -> ChangeToken {
        if let pollInterval {
            let now = CoarseClock.nanoseconds()
            // While the listener is down (or in polled freshness), what was
            // read less than a poll interval ago.
            let known: ChangeToken? = shared.state.withLock { state in
                guard let token = state.token, !state.mustPoll, now &- state.polledAt < pollInterval else { return nil }
                return token
            }
            if let known { return known }
            // The server unreachable: keys in memory keep being answered
            // from what was last read, for the grace since the server last
            // answered and no longer (hosts it still reaches may have
            // committed since). Strict freshness fails at once.
            do {
                return try poll()
            } catch {
                let last = shared.state.withLock { state in state.token.map { ($0, state.polledAt) } }
                if let (token, polledAt) = last, .nanoseconds(CoarseClock.nanoseconds() &- polledAt) < grace { return token }
                throw error
            }
        }
        return try poll()
    }

    /// The poll that bounds staleness while changes do not arrive by
    /// notification: while a notified watch's listener is down, its poll
    /// interval in seconds; `nil` while it listens, and for a strict or a
    /// polled watch, whose freshness is what was configured (only a
    /// notified watch has a listener to be down).
    var pollingInstead: TimeInterval? {
        guard let pollInterval, shared.state.withLock({ $0.listenerDown }) else { return nil }
        return TimeInterval(pollInterval) / 1_000_000_000
    }

    /// After this store's own commit: the next call asks the server.
    func committed() {
        shared.state.withLock { $0.mustPoll = true }
    }

    private func poll() throws -> ChangeToken {
        let token = try pool.read { connection in try Self.read(connection) }
        let now = CoarseClock.nanoseconds()
        shared.state.withLock { state in
            state.token = token
            state.polledAt = now
            state.mustPoll = false
        }
        return token
    }

    private static func read(_ connection: PGConnection) throws -> ChangeToken {
        let result = try connection.query(
            "SELECT (SELECT position FROM change_head WHERE id = 1), (SELECT version FROM count_log WHERE id = 1)")
        let keys = result.int64(0, 0) ?? 0
        let counts = result.int64(0, 1) ?? 0
        return ChangeToken(keys: keys, data: keys &+ counts, counts: counts)
    }

    /// The listening connection's loop, on a thread of its own: connect,
    /// LISTEN, then take in notifications as they come; reconnect when the
    /// server goes away. Ends when the watch is gone.
    private static func listen(pool: PGPool, shared: Shared) {
        while !shared.stopped.withLock({ $0 }) {
            guard let connection = try? pool.connect(), (try? connection.execute("LISTEN \(PostgresSchema.changeChannel)")) != nil,
                let schema = try? connection.query("SELECT current_schema()").string(0, 0)
            else {
                shared.state.withLock { $0.listenerDown = true }
                usleep(200_000)
                continue
            }
            // Heard from now on; what was committed before is read once.
            shared.state.withLock {
                $0.listenerDown = false
                $0.mustPoll = true
            }
            while !shared.stopped.withLock({ $0 }) {
                var descriptor = pollfd(fd: connection.socket, events: Int16(POLLIN), revents: 0)
                let ready = Glibc.poll(&descriptor, 1, 100)
                if ready < 0 && errno != EINTR { break }
                if ready > 0 {
                    guard connection.consumeInput() else { break }
                    let positions = connection.notifications().compactMap { notification -> Int64? in
                        let parts = notification.payload.split(separator: " ")
                        guard parts.count == 2, parts[0] == schema else { return nil }
                        return Int64(parts[1])
                    }
                    if let newest = positions.max() {
                        shared.state.withLock { state in
                            if let token = state.token, newest > token.keys {
                                state.token = ChangeToken(keys: newest, data: token.data &+ (newest - token.keys),
                                                          counts: token.counts)
                            } else if state.token == nil {
                                state.mustPoll = true
                            }
                        }
                    }
                }
                if !connection.isHealthy { break }
            }
            shared.state.withLock { $0.listenerDown = true }
        }
    }
}
