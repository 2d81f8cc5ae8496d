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
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(listener, $0, length) }
        }
        guard listener >= 0, bound == 0, listen(listener, 64) == 0 else {
            close(listener)
            throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO)
        }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(listener, $0, &length) }
        }
        port = Int(UInt16(bigEndian: address.sin_port))
        self.listener = listener
        let state = self.state
        Thread {
            while true {
                let connection = accept(listener, nil, nil)
                guard connection >= 0 else { return }  // closed by stop()
                let keep = state.withLock { state -> Bool in
                    state.accepted += 1
                    guard !state.stopped, behaviour == .silent else { return false }
                    state.open.append(connection)
                    return true
                }
                if !keep { close(connection) }
            }
        }.start()
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
