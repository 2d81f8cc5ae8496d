import Dispatch
import Locking

/// Connections to one server, lent out one caller at a time. A caller
/// that finds the server gone gets ``PGError/connectionLost``; the broken
/// connection is dropped and the next caller connects afresh, so a
/// restarted server is picked up without anyone reconnecting by hand.
/// While connecting fails, callers without a connection fail at once, and
/// connections made before the server went away are not used again
/// (``ServerReachability``, which a store's pools share). A server that
/// answers neither a statement within the pool's `answerTimeout` nor the
/// request to cancel it is deemed unreachable the same way.
///
/// At most `limit` connections are lent out at once; a caller beyond that
/// waits for one to come back, so many threads of a program embedding
/// Keygate cannot exhaust the server's `max_connections`.
final class PGPool: Sendable {
    private let conninfo: String
    /// Whether its connections prepare statements (``PGConnection``).
    private let prepares: Bool
    /// How long its connections' round trips wait for an answer
    /// (``PGConnection/answerTimeout``).
    private let answerTimeout: Duration?
    /// Connections kept between uses, each with the count of outages
    /// when it was made.
    private let idle: Locked<[(connection: PGConnection, outages: Int)]>
    private let keep: Int
    /// Counts the connections that may still be lent out.
    private let available: DispatchSemaphore
    private let reachability: ServerReachability

    init(conninfo: String, prepares: Bool = true, answerTimeout: Duration? = nil, keep: Int = 4, limit: Int = 16,
         reachability: ServerReachability = ServerReachability()) {
        self.conninfo = conninfo
        self.prepares = prepares
        self.answerTimeout = answerTimeout
        self.keep = keep
        self.reachability = reachability
        idle = Locked([])
        available = DispatchSemaphore(value: limit)
    }

    /// A new connection of the pool's own (for a listener that keeps it).
    func connect() throws(PGError) -> PGConnection {
        try PGConnection(conninfo: conninfo, prepares: prepares, answerTimeout: answerTimeout)
    }

    /// Runs `body` on a connection of its own. A connection that broke, or
    /// that `body` left inside a transaction or with statements queued, is
    /// not given to anyone else.
    func withConnection<T>(_ body: (PGConnection) throws -> T) throws -> T {
        available.wait()
        defer { available.signal() }
        let (connection, outages) = try lend()
        defer {
            if connection.isHealthy, !connection.inTransaction, !connection.hasQueued {
                idle.withLock { connections in
                    if connections.count < keep { connections.append((connection, outages)) }
                }
            }
        }
        do {
            return try body(connection)
        } catch let error as PGError where error.unanswered {
            reachability.unreachable(error, conninfo: conninfo)
            throw error
        } catch let error as PGError where error.connectionLost {
            reachability.lost()
            throw error
        }
    }

    /// A kept connection made since the server was last unreachable, or a
    /// new one.
    private func lend() throws(PGError) -> (PGConnection, Int) {
        while let kept = idle.withLock({ $0.popLast() }) {
            if reachability.isCurrent(kept.outages) { return kept }
        }
        let outages = reachability.outages
        return (try reachability.connect(conninfo, prepares: prepares, answerTimeout: answerTimeout), outages)
    }

    /// Runs a read on a connection, once more on a fresh one if the first
    /// turned out to be broken (the server restarted since it was last used):
    /// a read can be repeated safely, a write cannot. Not after a timeout:
    /// the server that did not answer would be waited for again.
    func read<T>(_ body: (PGConnection) throws -> T) throws -> T {
        do {
            return try withConnection(body)
        } catch let error as PGError where error.connectionLost && !error.timedOut {
            return try withConnection(body)
        }
    }
}
