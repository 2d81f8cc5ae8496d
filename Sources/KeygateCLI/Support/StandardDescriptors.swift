#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Locking

/// stdin, stdout and stderr as the parent handed them over.
///
/// A parent may start Keygate with one of them closed (`keygate serve >&-`,
/// a supervisor that closes what it does not pass on). The next descriptor
/// the process opens then takes that number: Dispatch's did (`keygate
/// serve` wrote its replies into an epoll descriptor and applied the
/// requests before it noticed), and a socket to PostgreSQL or a file could,
/// taking in output meant for a pipe. As daemons do, each closed one gets
/// `/dev/null` first thing, before anything else is opened, and the
/// commands ask which were closed: a closed stdout is output that cannot
/// be written, not output to throw away.
enum StandardDescriptors {
    private static let closed = Locked(Set<Int32>())

    /// Puts `/dev/null` on each of 0, 1 and 2 that is closed. First thing in
    /// `main`: only then is nothing else opened yet.
    static func occupyClosed() {
        var found = Set<Int32>()
        for descriptor: Int32 in 0...2 where fcntl(descriptor, F_GETFD) == -1 && errno == EBADF {
            found.insert(descriptor)
            // The lowest free number: this one, as those below are open by now.
            let null = open("/dev/null", O_RDWR)
            if null >= 0, null != descriptor {
                dup2(null, descriptor)
                close(null)
            }
        }
        closed.withLock { $0 = found }
    }

    /// Whether the parent left `descriptor` (0, 1 or 2) closed.
    static func wasClosed(_ descriptor: Int32) -> Bool {
        closed.withLock { $0.contains(descriptor) }
    }
}
