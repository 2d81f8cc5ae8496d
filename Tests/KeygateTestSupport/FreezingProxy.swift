import Foundation
import Locking
#if canImport(Glibc)
import Glibc
#endif

/// A TCP relay on loopback to a server on another loopback port, which can
/// stop relaying while it keeps every connection open (``freeze()``): what
/// a database server whose process stopped, or whose disk hung, looks like
/// to its clients. Their kernel's and the relay's take what they send and
/// acknowledge it, so no TCP timeout ever fires, and nothing comes back.
/// New connections are taken and held the same way. ``thaw()`` relays again,
/// what was held first.
public final class FreezingProxy: Sendable {
    public let port: Int
    private let listener: Int32
    private struct State {
        var frozen = false
        var stopped = false
        /// Relays between reading a chunk and having written it on.
        var relaying = 0
        var sockets: [Int32] = []
        var accepted = 0
    }

    private let state = Locked(State())

    /// Listens on a free loopback port, relaying to `targetPort` on 127.0.0.1.
    public init(to targetPort: Int) throws {
        let (listener, port) = try Loopback.listener()
        self.port = port
        self.listener = listener
        let state = self.state
        Loopback.accept(on: listener) { client in
            let server = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var target = Loopback.address(port: targetPort)
            let connected = withUnsafePointer(to: &target) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(server, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            let open = state.withLock { state -> Bool in
                state.accepted += 1
                guard !state.stopped, connected == 0 else { return false }
                state.sockets += [client, server]
                return true
            }
            guard open else {
                close(client)
                close(server)
                return
            }
            let ends = Locked(2)
            for (from, to) in [(client, server), (server, client)] {
                Thread {
                    Self.relay(from: from, to: to, state: state)
                    // The second relay of a pair to end closes both sockets.
                    if ends.withLock({ count in count -= 1; return count }) == 0 {
                        state.withLock { $0.sockets.removeAll { $0 == client || $0 == server } }
                        close(client)
                        close(server)
                    }
                }.start()
            }
        }
    }

    /// `url` (a PostgreSQL URL on 127.0.0.1) with its port this relay's.
    public func url(through url: String) -> String {
        url.replacingOccurrences(of: #"127\.0\.0\.1:\d+"#, with: "127.0.0.1:\(port)", options: .regularExpression)
    }

    /// How many connections it has taken.
    public var accepted: Int { state.withLock { $0.accepted } }

    /// Stops relaying, in both directions, on every connection and the ones
    /// still to come; returns once no chunk is on its way.
    public func freeze() {
        state.withLock { $0.frozen = true }
        // Bounded: a chunk in flight is written on within milliseconds.
        for _ in 0..<1_000 where state.withLock({ $0.relaying }) > 0 { usleep(1_000) }
    }

    /// Relays again.
    public func thaw() {
        state.withLock { $0.frozen = false }
    }

    /// Closes every connection and stops listening.
    public func stop() {
        let sockets = state.withLock { state -> [Int32]? in
            guard !state.stopped else { return nil }
            state.stopped = true
            return state.sockets
        }
        guard let sockets else { return }
        // The relays see their sockets end, and close them.
        for socket in sockets { shutdown(socket, Int32(SHUT_RDWR)) }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private static func relay(from: Int32, to: Int32, state: Locked<State>) {
        var buffer = [UInt8](repeating: 0, count: 65_536)
        while true {
            var descriptor = pollfd(fd: from, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, 20)
            if ready < 0, errno != EINTR { break }
            let go = state.withLock { state -> Bool? in
                if state.stopped { return nil }
                guard !state.frozen, ready > 0 else { return false }
                state.relaying += 1
                return true
            }
            guard let go else { break }
            guard go else {
                // Frozen, or nothing to read: what arrives stays in the
                // kernel's buffer, acknowledged, until thawed.
                if ready > 0 { usleep(5_000) }
                continue
            }
            defer { state.withLock { $0.relaying -= 1 } }
            let count = read(from, &buffer, buffer.count)
            guard count > 0 else {
                shutdown(to, Int32(SHUT_WR))
                break
            }
            var sent = 0
            while sent < count {
                // A peer gone is the end of the relay, not a SIGPIPE for the tests.
                let wrote = buffer[sent..<count].withUnsafeBytes { send(to, $0.baseAddress, count - sent, Int32(MSG_NOSIGNAL)) }
                guard wrote > 0 else { break }
                sent += wrote
            }
            guard sent == count else { break }
        }
    }
}
