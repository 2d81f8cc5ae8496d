#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// SIGTERM, SIGINT and SIGHUP ask the server to stop after the request in
/// hand (SIGHUP's default, on a closed terminal or session, would end it
/// with the last second's counts unwritten); asked a second time, it gives
/// up waiting for the database to write its last counts
/// (``UsageFlusher/stop(givingUpWhen:)``). SIGPIPE is ignored, so a reader
/// that goes away ends the loop through a failed write instead of killing
/// the process mid-flush.
///
/// The kernel delivers a signal to any thread, not necessarily the one
/// blocked reading stdin, so the handler also writes a byte to a pipe the
/// reader polls (the self-pipe trick; `write(2)` is async-signal-safe).
enum Signals {
    /// How many times a stop was asked for.
    private static let stopRequests = Atomic<Int>(0)
    private static let wakeWriter = Atomic<Int32>(-1)

    /// Has a write to a reader that went away, or past a file size limit,
    /// fail instead of killing the process: first thing, before anything
    /// is written. Opens nothing.
    static func ignoreFailedWrites() {
        signal(SIGPIPE, SIG_IGN)
        // Past a file size limit the kernel would kill us with SIGXFSZ; ignored,
        // the write fails instead, SQLite reports SQLITE_FULL and the caller
        // gets storage_failure/full while reads keep being served.
        signal(SIGXFSZ, SIG_IGN)
    }

    /// Installs the handlers and returns the descriptor that becomes
    /// readable when a stop is requested.
    static func install() -> Int32 {
        ignoreFailedWrites()
        var pipeDescriptors: [Int32] = [-1, -1]
        if pipe(&pipeDescriptors) == 0 {
            wakeWriter.store(pipeDescriptors[1], ordering: .relaxed)
        }
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { _ in Signals.requestStop() }
        #else
        action.__sigaction_u.__sa_handler = { _ in Signals.requestStop() }
        #endif
        sigemptyset(&action.sa_mask)
        action.sa_flags = 0
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
        sigaction(SIGHUP, &action, nil)
        // A parent may start us with these signals blocked (some process
        // launchers do); a handler is no use until they are unblocked.
        var mask = sigset_t()
        sigemptyset(&mask)
        sigaddset(&mask, SIGTERM)
        sigaddset(&mask, SIGINT)
        sigaddset(&mask, SIGHUP)
        pthread_sigmask(SIG_UNBLOCK, &mask, nil)
        return pipeDescriptors[0]
    }

    private static func requestStop() {
        stopRequests.add(1, ordering: .relaxed)
        var byte: UInt8 = 1
        _ = write(wakeWriter.load(ordering: .relaxed), &byte, 1)
    }

    static var shouldStop: Bool { stopRequests.load(ordering: .relaxed) > 0 }

    /// Whether a stop was asked for again: what is left to do is given up.
    static var insists: Bool { stopRequests.load(ordering: .relaxed) > 1 }
}
