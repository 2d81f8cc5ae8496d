import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Sockets on 127.0.0.1 for the tests' own servers, which listen on
/// loopback only.
enum Loopback {
    /// A socket listening on a free loopback port, and that port.
    static func listener() throws -> (socket: Int32, port: Int) {
        let listener = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = self.address(port: 0)
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
        return (listener, Int(UInt16(bigEndian: address.sin_port)))
    }

    /// `port` on 127.0.0.1, as `bind(2)` and `connect(2)` take it.
    static func address(port: Int) -> sockaddr_in {
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = UInt16(port).bigEndian
        return address
    }

    /// Takes the connections to `listener` on a thread of its own, handing
    /// each to `handle` in turn, until the listener is closed.
    static func accept(on listener: Int32, _ handle: @escaping @Sendable (Int32) -> Void) {
        Thread {
            while true {
                let connection = Glibc.accept(listener, nil, nil)
                guard connection >= 0 else { return }  // the listener was closed
                handle(connection)
            }
        }.start()
    }
}
