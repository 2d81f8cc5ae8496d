import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Pipes left non-blocking, as a parent whose event loop made them so hands
/// them to a child: the mode belongs to the pipe, which both then share.
public enum NonBlockingPipes {
    /// `fcntl(2)` refused to change a descriptor's mode.
    public struct Refused: Error {
        public let descriptor: Int32
        public let errno: Int32
    }

    public static func make(_ descriptors: Int32...) throws(Refused) {
        for descriptor in descriptors where fcntl(descriptor, F_SETFL, fcntl(descriptor, F_GETFL) | O_NONBLOCK) != 0 {
            throw Refused(descriptor: descriptor, errno: errno)
        }
    }

    /// Waits, reading nothing, until the pipe read at `descriptor` has less
    /// than a page of room (the writer's next line finds none), or until
    /// `running` says the writer has gone; whether the pipe filled.
    public static func waitUntilFull(_ descriptor: Int32, while running: () -> Bool) -> Bool {
        #if os(Linux)
        // F_GETPIPE_SZ, a macro Swift does not import.
        let capacity = Int(fcntl(descriptor, 1_032))
        #else
        let capacity = 65_536
        #endif
        let deadline = Date.now + 30
        var held: Int32 = 0
        while running(), Date.now < deadline {
            _ = withUnsafeMutablePointer(to: &held) { ioctl(descriptor, UInt(FIONREAD), $0) }
            if Int(held) > capacity - 4_096 { return true }
            poll(nil, 0, 1)
        }
        return false
    }
}
