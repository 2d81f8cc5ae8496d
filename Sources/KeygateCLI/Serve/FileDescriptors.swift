#if canImport(Glibc)
import Glibc
#endif

/// The process's room for more open files.
enum FileDescriptors {
    /// What `keygate serve` needs free when it starts, before it opens
    /// anything: libdispatch's event loop takes two, finding the shipped
    /// catalog and translations several (with fewer, Foundation's bundle
    /// look-up fails and the process crashes), a SQLite database at least
    /// ten more. Below it, the process says so and stops.
    static let neededToStart = 16

    /// Whether `count` more files can be opened now: tried, and closed again.
    static func available(_ count: Int) -> Bool {
        var opened: [Int32] = []
        defer { for descriptor in opened { close(descriptor) } }
        for _ in 0..<count {
            let descriptor = open("/dev/null", O_RDONLY | O_CLOEXEC)
            guard descriptor >= 0 else { return false }
            opened.append(descriptor)
        }
        return true
    }
}
