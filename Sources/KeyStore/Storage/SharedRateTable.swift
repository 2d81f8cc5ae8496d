#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Locking
import Synchronization

/// ``SharedRateLimits`` for every process on one host that opens the same
/// SQLite file: a table in a memory-mapped file beside the database
/// (`<database>-limits`), as nginx's `limit_req` keeps its zone in shared
/// memory. Verification stays in process: one mutex and a few loads, no
/// write transaction, no system call.
///
/// The table is split into windows of ``width`` slots, each behind its own
/// process-shared, robust mutex: a process killed while holding one leaves
/// it to the next locker (`EOWNERDEAD`), which takes it over; what it
/// guards is one 16-byte slot, and the worst a kill can leave is a slot
/// with a new key's tag and the previous key's time, which can only delay
/// that key, never let it through sooner.
///
/// A key lives in the window its tag picks. A new key takes an empty slot
/// or, in a full window, the slot whose time is earliest: the key closest
/// to (or at) a full allowance, so replacing it loses at most what it had
/// left of its burst. With 16,384 windows of 16 slots, that takes more
/// than 16 keys in use at once in one window of 262,144 slots.
final class SharedRateTable: SharedRateLimits, @unchecked Sendable {
    static let windows = 16_384
    static let width = 16
    private static let magic: UInt64 = 0x4b47_5241_5445_3031  // "KGRATE01"
    private static let headerSize = 4096
    /// A mutex per window, each on a cache line of its own.
    private static let mutexStride = 64
    private static var slotsOffset: Int { headerSize + windows * mutexStride }
    static var fileSize: Int { slotsOffset + windows * width * 16 }

    /// The table in use, as an address: the one mapped at the start, or
    /// the one that replaced it (``followReplacement()``).
    private let current: Atomic<Int>
    let path: String
    /// The file in use, and the tables this process stopped using, with
    /// when it stopped (``CoarseClock``).
    private let mapped: Locked<(file: FileIdentity, retired: [(table: UnsafeMutableRawPointer, at: UInt64)])>

    /// Why the table beside a database cannot be used; each process then
    /// keeps its own limits.
    struct Unavailable: Error, CustomStringConvertible {
        let description: String

        /// A system call's failure on the file, in the system's words.
        static func failed(_ call: String, _ path: String) -> Unavailable {
            Unavailable(description: "\(call) \(path): \(String(cString: strerror(errno)))")
        }
    }

    /// Maps the table at `path`, creating and initializing it under an
    /// exclusive `flock` if this is the first process. A file of another
    /// size, or whose header is another table's (another version of
    /// Keygate, or another program), is left as it is and refused: other
    /// processes may be using it, and initializing it again would reset
    /// the mutexes they hold.
    init(path: String) throws(Unavailable) {
        guard MemoryLayout<pthread_mutex_t>.size <= Self.mutexStride else {
            throw Unavailable(description: "this system's process-shared mutexes do not fit the table's layout")
        }
        let (table, file) = try Self.map(path)
        self.path = path
        current = Atomic(Int(bitPattern: table))
        mapped = Locked((file, []))
    }

    deinit {
        mapped.withLock { mapped in
            for (table, _) in mapped.retired { munmap(table, Self.fileSize) }
        }
        munmap(UnsafeMutableRawPointer(bitPattern: current.load(ordering: .acquiring)), Self.fileSize)
    }

    /// What ``followReplacement()`` found.
    enum Follow: Equatable {
        /// The path still names the table in use.
        case same
        /// The path named another file, or none: the table there (made
        /// if there was none) is now the one in use.
        case rejoined(path: String)
        /// The path named another file, or none, and the table there
        /// cannot be used: the one in use stays, and the next look tries again.
        case unavailable(String)
    }

    /// Moves to the table the path names now, if that is no longer the
    /// one in use: a table removed while processes use it (by hand, by a
    /// clean-up of files that looked stale) would otherwise leave them on
    /// the removed one and every process started since on a new one, each
    /// group with limits of its own. Every process that looks (after each
    /// usage flush) joins the new table within a second, with each key's
    /// limit there starting from a full allowance.
    ///
    /// A verification may still be in the old table as it is replaced (it
    /// read the address before the move), so the old mapping stays for
    /// ``retiredFor``, and goes at the first look after that: a clean-up
    /// that removed the file every minute would otherwise add 5 MB, and a
    /// mapping, each time, for as long as the process runs.
    func followReplacement(at now: UInt64 = CoarseClock.nanoseconds()) -> Follow {
        mapped.withLock { mapped in
            mapped.retired.removeAll { table, at in
                guard now >= at + Self.retiredFor else { return false }
                munmap(table, Self.fileSize)
                return true
            }
            if FileIdentity.at(path) == mapped.file { return .same }
            do throws(Unavailable) {
                let (table, file) = try Self.map(path)
                let old = current.exchange(Int(bitPattern: table), ordering: .acquiringAndReleasing)
                mapped.retired.append((UnsafeMutableRawPointer(bitPattern: old)!, now))
                mapped.file = file
                return .rejoined(path: path)
            } catch {
                return .unavailable(error.description)
            }
        }
    }

    /// How long a table this process stopped using stays mapped, in
    /// nanoseconds: a verification holds it for well under a microsecond;
    /// a minute leaves room for a thread the scheduler set aside.
    static let retiredFor: UInt64 = 60_000_000_000

    /// Tables this process stopped using that are still mapped.
    var retiredTables: Int {
        mapped.withLock { $0.retired.count }
    }

    /// Gives every page of the table its blocks on disk now, in a file
    /// new or found (an earlier version left it sparse). A page of a
    /// sparse file gets its blocks when first written through the mapping,
    /// and with the disk full that write is a SIGBUS: the process would
    /// end at its next verification of a key in a page not yet written.
    ///
    /// A table in use by other processes is safe: the `fallocate` system
    /// call changes no byte, and where the file system lacks it, glibc
    /// writes a zero over the last byte of each block that reads zero, which
    /// here is padding after a mutex or the top byte of a slot's time (zero
    /// until the year 4253).
    private static func reserveBlocks(_ descriptor: Int32, _ path: String) throws(Unavailable) {
        #if os(Linux)
        let failure = posix_fallocate(descriptor, 0, off_t(fileSize))
        guard failure != 0 else { return }
        errno = failure
        throw .failed("cannot reserve disk space for", path)
        #endif
    }

    /// Opens, and if need be makes, the table at `path` and maps it.
    private static func map(_ path: String) throws(Unavailable) -> (UnsafeMutableRawPointer, FileIdentity) {
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o660)
        guard descriptor >= 0 else { throw .failed("cannot open", path) }
        // The mapping outlives the descriptor.
        defer { close(descriptor) }
        guard flock(descriptor, LOCK_EX) == 0 else { throw .failed("cannot lock", path) }
        defer { flock(descriptor, LOCK_UN) }
        var status = stat()
        guard fstat(descriptor, &status) == 0 else { throw .failed("cannot read the size of", path) }
        if status.st_size == 0 {
            guard ftruncate(descriptor, off_t(Self.fileSize)) == 0 else { throw .failed("cannot size", path) }
        } else if Int(status.st_size) != Self.fileSize {
            throw Unavailable(description: """
                \(path) is \(status.st_size) bytes, not the \(Self.fileSize) of this version's rate-limit table \
                (another version of Keygate or another program made it)
                """)
        }
        try reserveBlocks(descriptor, path)
        guard let mapped = mmap(nil, Self.fileSize, PROT_READ | PROT_WRITE, MAP_SHARED, descriptor, 0),
            mapped != MAP_FAILED
        else { throw .failed("cannot map", path) }
        let header = mapped.assumingMemoryBound(to: UInt64.self)
        switch header.pointee {
        case Self.magic:
            break
        case 0:
            // First user (or one that died before finishing): the slots are
            // zero from ftruncate; the mutexes need initializing; the magic
            // goes last, under the flock every opener takes.
            var attributes = pthread_mutexattr_t()
            pthread_mutexattr_init(&attributes)
            pthread_mutexattr_setpshared(&attributes, Int32(PTHREAD_PROCESS_SHARED))
            pthread_mutexattr_setrobust(&attributes, Int32(PTHREAD_MUTEX_ROBUST))
            for window in 0..<Self.windows {
                pthread_mutex_init(Self.mutex(window, in: mapped), &attributes)
            }
            pthread_mutexattr_destroy(&attributes)
            header.pointee = Self.magic
            msync(mapped, Self.headerSize, MS_SYNC)
        default:
            munmap(mapped, Self.fileSize)
            throw Unavailable(description: """
                \(path) holds another version's rate-limit table (another version of Keygate or another program made it)
                """)
        }
        return (mapped, FileIdentity(status))
    }

    private static func mutex(_ window: Int, in base: UnsafeMutableRawPointer) -> UnsafeMutablePointer<pthread_mutex_t> {
        (base + headerSize + window * mutexStride).assumingMemoryBound(to: pthread_mutex_t.self)
    }

    func admit(_ tag: UInt64, limit: Int, cost: Int, at now: Int64) -> GCRA.Decision {
        withArrival(of: tag) { GCRA.admit(&$0, limit: limit, cost: cost, at: now) }
    }

    /// Runs `body` on the key's arrival time under its window's lock.
    func withArrival<T>(of tag: UInt64, _ body: (inout Int64) -> T) -> T {
        let tag = tag == 0 ? 1 : tag
        let window = Int(truncatingIfNeeded: (tag >> 17) % UInt64(Self.windows))
        // Acquiring: the table's header and mutexes, written by the
        // process that made it, come before its address.
        let base = UnsafeMutableRawPointer(bitPattern: current.load(ordering: .acquiring))!
        let lock = Self.mutex(window, in: base)
        switch pthread_mutex_lock(lock) {
        case 0: break
        case EOWNERDEAD: pthread_mutex_consistent(lock)
        default:
            // Not recoverable: answer from a time of this call's own rather
            // than not at all (the limit is then this process's alone).
            var arrival: Int64 = 0
            return body(&arrival)
        }
        defer { pthread_mutex_unlock(lock) }
        let slots = (base + Self.slotsOffset + window * Self.width * 16).assumingMemoryBound(to: UInt64.self)
        // Slots fill in order and are never emptied, so the first empty one
        // ends the search; in a full window the earliest time gives way.
        var chosen = -1
        var earliest = 0
        for index in 0..<Self.width {
            let slotTag = slots[index * 2]
            if slotTag == tag || slotTag == 0 {
                chosen = index
                break
            }
            if Int64(bitPattern: slots[index * 2 + 1]) < Int64(bitPattern: slots[earliest * 2 + 1]) { earliest = index }
        }
        if chosen < 0 { chosen = earliest }
        if slots[chosen * 2] != tag {
            // Tag first: killed in between, the new key inherits a time that
            // can only delay it, never one that lets it through sooner.
            slots[chosen * 2] = tag
            slots[chosen * 2 + 1] = 0
        }
        var arrival = Int64(bitPattern: slots[chosen * 2 + 1])
        let result = body(&arrival)
        slots[chosen * 2 + 1] = UInt64(bitPattern: arrival)
        return result
    }
}
