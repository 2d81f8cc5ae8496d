import Foundation
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// A TCP server on loopback that takes connections and says nothing: as a
/// database host gone silent looks to a client whose packets reach it
/// (``Behaviour/silent``), or one that hangs up on every connection at once
/// (``Behaviour/hangUp``). It counts the connections it was asked for.
public final class SilentServer: Sendable {
    public enum Behaviour: Sendable {
        /// Connections are kept open and never read or written.
        case silent
        /// Connections are closed as soon as they are taken.
        case hangUp
    }

    public let port: Int
    private let listener: Int32
    private let state = Locked<(accepted: Int, open: [Int32], stopped: Bool)>((0, [], false))

    public init(_ behaviour: Behaviour) throws {
        let (listener, port) = try Loopback.listener()
        self.port = port
        self.listener = listener
        let state = self.state
        Loopback.accept(on: listener) { connection in
            let keep = state.withLock { state -> Bool in
                state.accepted += 1
                guard !state.stopped, behaviour == .silent else { return false }
                state.open.append(connection)
                return true
            }
            if !keep { close(connection) }
        }
    }

    /// A PostgreSQL URL that reaches this server.
    public var url: String { "postgresql://keygate@127.0.0.1:\(port)/keygate" }

    /// How many connections it has taken.
    public var accepted: Int { state.withLock { $0.accepted } }

    /// Closes every connection and stops listening.
    public func stop() {
        let open = state.withLock { state -> [Int32]? in
            guard !state.stopped else { return nil }
            state.stopped = true
            defer { state.open = [] }
            return state.open
        }
        guard let open else { return }
        for connection in open { close(connection) }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }
}
