#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A monotonic clock good to a few milliseconds, which is all the stores'
/// time bounds need (how long a read transaction is kept, when the change
/// check polls again): on Linux the coarse clock, read without a syscall
/// and without the time stamp counter.
package enum CoarseClock {
    package static func nanoseconds() -> UInt64 {
        var time = timespec()
        #if os(Linux)
        clock_gettime(CLOCK_MONOTONIC_COARSE, &time)
        #else
        clock_gettime(CLOCK_MONOTONIC, &time)
        #endif
        return UInt64(time.tv_sec) &* 1_000_000_000 &+ UInt64(time.tv_nsec)
    }
}
