import Foundation
import KeyStore
import Locking

/// Whether the server answers, as a store's pools share it. Once a new
/// connection cannot be made, callers are told so at once, with that
/// failure, rather than each waiting for the network again, and one thread
/// tries to connect in the background until it succeeds.
///
/// Without it, a server that went silent (a network partition, a host gone
/// in a failover: nothing answers, nothing is refused) cost every call its
/// own wait, up to the connection's timeouts; `keygate serve` answers its
/// requests in order, so that wait held up every verification behind it,
/// those of keys in memory too, which an unreachable server must not stop
/// (docs/STORAGE.md, Faults). A server that refuses at once (stopped,
/// restarting) costs nothing to try, and is tried the same way. So is one
/// that took a connection but answered neither a statement nor the request
/// to cancel it (its process stopped, its disk hung): connecting may work
/// there, so the thread that tries again also asks it something.
final class ServerReachability: Sendable {
    private struct State {
        /// Why the last attempt to connect failed; nil while connecting works.
        var failure: PGError?
        /// Whether the thread that tries again is running.
        var retrying = false
        /// How many times the server became unreachable or a connection
        /// was lost: a connection made before the last time is not used
        /// again (``isCurrent(_:)``).
        var outages = 0
        /// Whether nobody holds the pools any more: the thread that tries
        /// again stops.
        var abandoned = false
    }

    private let state = Locked(State())

    deinit {
        state.withLock { $0.abandoned = true }
    }

    /// The first pause between background attempts, doubled after each
    /// failure up to ``longestPause``: a server back after a restart is
    /// found within a quarter of a second, and one refusing for long (a
    /// password changed) is not asked four times a second for ever.
    static let firstPause: TimeInterval = 0.25
    static let longestPause: TimeInterval = 2
    /// How long a background attempt waits for its `SELECT 1`: a server that
    /// takes connections but answers nothing stays unreachable.
    static let probeTimeout = Duration.seconds(1)

    /// Throws the failure that made the server unreachable, until a
    /// connection succeeds again.
    func check() throws(PGError) {
        if let failure = state.withLock({ $0.failure }) { throw failure }
    }

    /// What a connection made now is stamped with.
    var outages: Int { state.withLock { $0.outages } }

    /// Whether a connection stamped `outages` was made since the server
    /// last became unreachable: one made before went silent with it, most
    /// likely, and would cost its caller a wait for the network to say so.
    func isCurrent(_ outages: Int) -> Bool {
        state.withLock { $0.outages == outages }
    }

    /// A connection in use was lost (the server restarted, or the network
    /// went silent and the connection's timeout ran out): the others made
    /// before are not used again, each of which would have cost its caller
    /// the same wait; the next caller connects afresh.
    func lost() {
        state.withLock { $0.outages += 1 }
    }

    /// A new connection, unless the server is known to be unreachable. A
    /// failure to connect marks it so and starts trying in the background.
    func connect(_ conninfo: String, prepares: Bool, answerTimeout: Duration?) throws(PGError) -> PGConnection {
        try check()
        do {
            let connection = try PGConnection(conninfo: conninfo, prepares: prepares, answerTimeout: answerTimeout)
            state.withLock { $0.failure = nil }
            return connection
        } catch {
            unreachable(error, conninfo: conninfo)
            throw error
        }
    }

    /// Connecting failed with `error`, or a connection's statement went
    /// unanswered and so did the request to cancel it
    /// (``PGError/unanswered``): the server is unreachable until the thread
    /// that tries again, started here if none runs, finds it answering.
    func unreachable(_ error: PGError, conninfo: String) {
        let start = state.withLock { state -> Bool in
            state.outages += 1
            state.failure = error
            defer { state.retrying = true }
            return !state.retrying
        }
        guard start else { return }
        // The thread holds the state, not this object, which may go while
        // it sleeps. Not a weak reference to it: a thread asleep at exit
        // keeps the reference's side table, which LeakSanitizer cannot see
        // is held and reports as a leak.
        let state = self.state
        let thread = Thread { Self.retry(state, conninfo: conninfo) }
        thread.name = "keygate-reconnect"
        thread.start()
    }

    /// Connects again and again, pausing longer each time, until a
    /// connection succeeds and answers, or nobody holds the pools any more.
    private static func retry(_ state: Locked<State>, conninfo: String) {
        var pause = firstPause
        while true {
            Thread.sleep(forTimeInterval: pause)
            guard !state.withLock({ $0.abandoned }) else { return }
            do {
                try PGConnection(conninfo: conninfo, prepares: false, answerTimeout: probeTimeout).execute("SELECT 1")
                state.withLock { state in
                    state.failure = nil
                    state.retrying = false
                }
                return
            } catch {
                state.withLock { $0.failure = error }
                pause = min(pause * 2, longestPause)
            }
        }
    }
}
