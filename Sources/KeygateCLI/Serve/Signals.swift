#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Synchronization

/// SIGTERM and SIGINT ask the server to stop after the request in hand;
/// SIGPIPE is ignored, so a reader that goes away ends the loop through a
/// failed write instead of killing the process mid-flush.
enum Signals {
    static let stopRequested = Atomic<Bool>(false)

    static func install() {
        signal(SIGPIPE, SIG_IGN)
        var action = sigaction()
        #if canImport(Glibc)
        action.__sigaction_handler.sa_handler = { _ in Signals.stopRequested.store(true, ordering: .relaxed) }
        #else
        action.__sigaction_u.__sa_handler = { _ in Signals.stopRequested.store(true, ordering: .relaxed) }
        #endif
        sigemptyset(&action.sa_mask)
        // No SA_RESTART: a blocked read returns EINTR, so the loop sees the request at once.
        action.sa_flags = 0
        sigaction(SIGTERM, &action, nil)
        sigaction(SIGINT, &action, nil)
    }

    static var shouldStop: Bool { stopRequested.load(ordering: .relaxed) }
}
