import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Calls a function every interval on a thread of its own until stopped.
///
/// It keeps time by the monotonic clock, so setting the system's clock
/// neither delays nor hurries it, and it needs no file descriptor. A
/// Dispatch timer needs a timerfd, which libdispatch opens when the timer
/// is first armed and, when none is left, never arms the timer, without a
/// word: the usage flushes would stop while the process went on serving.
final class Ticker: @unchecked Sendable {
    // @unchecked: `state` is read and written only with `mutex` held.
    private let mutex = UnsafeMutablePointer<pthread_mutex_t>.allocate(capacity: 1)
    private let condition = UnsafeMutablePointer<pthread_cond_t>.allocate(capacity: 1)
    private var state = State.idle

    private enum State { case idle, running, stopping, finished }

    init() {
        mutex.initialize(to: pthread_mutex_t())
        condition.initialize(to: pthread_cond_t())
        pthread_mutex_init(mutex, nil)
        var attributes = pthread_condattr_t()
        pthread_condattr_init(&attributes)
        pthread_condattr_setclock(&attributes, CLOCK_MONOTONIC)
        pthread_cond_init(condition, &attributes)
        pthread_condattr_destroy(&attributes)
    }

    deinit {
        pthread_cond_destroy(condition)
        pthread_mutex_destroy(mutex)
        condition.deallocate()
        mutex.deallocate()
    }

    /// Calls `tick` every `seconds`, the first time `seconds` from now. A
    /// tick that overran the next one's time is not made up for: the
    /// next comes `seconds` after it.
    func start(every seconds: Int, _ tick: @escaping @Sendable () -> Void) {
        pthread_mutex_lock(mutex)
        precondition(state == .idle, "a ticker starts once")
        state = .running
        pthread_mutex_unlock(mutex)
        let interval = Int64(seconds) * 1_000_000_000
        let thread = Thread { [self] in
            pthread_mutex_lock(mutex)
            var deadline = Self.now() + interval
            while state == .running {
                var time = timespec(tv_sec: Int(deadline / 1_000_000_000), tv_nsec: Int(deadline % 1_000_000_000))
                guard pthread_cond_timedwait(condition, mutex, &time) == ETIMEDOUT, state == .running else { continue }
                pthread_mutex_unlock(mutex)
                tick()
                pthread_mutex_lock(mutex)
                deadline += interval
                let now = Self.now()
                if deadline <= now { deadline = now + interval }
            }
            state = .finished
            pthread_cond_broadcast(condition)
            pthread_mutex_unlock(mutex)
        }
        thread.name = "keygate.ticker"
        thread.start()
    }

    /// Stops the ticks, and waits for one under way to end. After it
    /// returns, `tick` is not called again.
    func stop() {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        guard state == .running else { return }
        state = .stopping
        pthread_cond_broadcast(condition)
        while state != .finished { pthread_cond_wait(condition, mutex) }
    }

    private static func now() -> Int64 {
        var time = timespec()
        clock_gettime(CLOCK_MONOTONIC, &time)
        return Int64(time.tv_sec) * 1_000_000_000 + Int64(time.tv_nsec)
    }
}
