#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A value shared between threads behind a pthread mutex: what Keygate uses
/// wherever state is shared.
///
/// Why not `Synchronization.Mutex`: on Linux its lock lives in the Swift
/// runtime's own library, built without ThreadSanitizer, so TSan cannot see
/// the lock and reports every access it guards as a race (so does a
/// ten-line program where two threads append to one `Mutex<[Int]>`). TSan
/// intercepts `pthread_mutex_lock`, so with this type a TSan run reports
/// only real races. The price, about 70 ns per lock, is measured in
/// docs/PERFORMANCE.md.
///
/// ```swift
/// let counts = Locked([String: Int]())
/// counts.withLock { $0["verify", default: 0] += 1 }
/// ```
public final class Locked<Value: ~Copyable>: @unchecked Sendable {
    // @unchecked: `value` is only reached through `withLock`, under the lock.
    // Visible to inlined code, not to callers: `withLock` is inlinable so
    // that each caller gets it specialized for its value and result. Called
    // generically across modules, it handed every result back through its
    // type's metadata (about 200 instructions a verification, callgrind).
    // Unchecked for exclusivity: the mutex already makes each access the
    // only one, and a nested `withLock` on the same value would deadlock
    // before it could overlap; the check cost 80 instructions a call.
    @usableFromInline let lock = Lock()
    @usableFromInline @exclusivity(unchecked) var value: Value

    public init(_ value: consuming sending Value) {
        self.value = value
    }

    /// Runs `body` with the value, under the lock. As with `Mutex`, what
    /// goes in and comes out must not stay reachable from elsewhere.
    @inlinable
    public func withLock<Result: ~Copyable, Failure: Error>(
        _ body: (inout sending Value) throws(Failure) -> sending Result
    ) throws(Failure) -> sending Result {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}

/// A pthread mutex that guards a stretch of work rather than a value (such
/// as "one flush at a time"); ``Locked`` pairs it with a value.
public final class Lock: @unchecked Sendable {
    // @unchecked: the mutex is the synchronisation; it lives at a fixed
    // address for the lock's whole life, as pthreads requires.
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>

    public init() {
        mutex = .allocate(capacity: 1)
        mutex.initialize(to: pthread_mutex_t())
        let status = pthread_mutex_init(mutex, nil)
        precondition(status == 0, "pthread_mutex_init failed: \(status)")
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    /// Runs `body` while no other thread runs a body under this lock.
    @inlinable
    public func withLock<Result: ~Copyable, Failure: Error>(
        _ body: () throws(Failure) -> Result
    ) throws(Failure) -> Result {
        lock()
        defer { unlock() }
        return try body()
    }

    @usableFromInline func lock() {
        pthread_mutex_lock(mutex)
    }

    @usableFromInline func unlock() {
        pthread_mutex_unlock(mutex)
    }
}
