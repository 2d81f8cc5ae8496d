import Dispatch

/// libdispatch opens the descriptors of its event loop (an epoll instance
/// and an eventfd) the first time anything needs it, and when none is left
/// it does not fail: it crashes the process (`_dispatch_epoll_init`). The
/// first worker thread needs it, and the first work queued to one (the
/// database's log copies) came after the database files were open: with
/// few descriptors to spare, those files took the last ones, and `keygate
/// serve` died where it should have said what it could not open.
enum DispatchEventLoop {
    /// Has libdispatch open its event loop now, first thing in the process
    /// (after ``FileDescriptors/available(_:)`` has made sure there is
    /// room), before any file is opened: a shortage later fails the opening
    /// of a file, which Keygate reports.
    static func start() {
        // A worker thread opens the loop as it registers, before it runs
        // the work it was started for.
        let ran = DispatchSemaphore(value: 0)
        DispatchQueue.global().async { ran.signal() }
        ran.wait()
    }
}
