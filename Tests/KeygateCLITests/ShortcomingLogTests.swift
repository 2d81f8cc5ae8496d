import InMemoryLogging
@testable import KeygateCLI
import KeyStore
import Logging
import Testing

/// What serve's log says of its store's shortcomings: each once when it
/// begins and once when it ends, however its values move in between.
@Suite("The shortcoming log")
struct ShortcomingLogTests {
    let handler = InMemoryLogHandler()
    var log: ShortcomingLog

    init() {
        let handler = self.handler
        log = ShortcomingLog(logger: Logger(label: "test") { _ in handler }, database: "keygate.sqlite")
    }

    func said() -> [(Logger.Level, String)] {
        handler.entries.map { ($0.level, "\($0.message)") }
    }

    @Test mutating func eachIsSaidWhenItBeginsAndWhenItEndsNotAsItsValuesMove() {
        log.report([])
        #expect(said().isEmpty)
        log.report([.lowDiskSpace(free: 90 << 20, needed: 100 << 20)])
        log.report([.lowDiskSpace(free: 80 << 20, needed: 100 << 20), .changesPolled(every: 1)])
        log.report([.lowDiskSpace(free: 70 << 20, needed: 100 << 20), .changesPolled(every: 1)])
        log.report([.changesPolled(every: 1)])
        log.report([])
        let lines = said()
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.map(\.0) == [.warning, .warning, .notice, .notice])
        #expect(lines[0].1.hasPrefix("the database's disk is nearly full"))
        #expect(lines[1].1.hasPrefix("changes on other hosts reach this process by a poll"))
        #expect(lines[2].1 == "the database's disk has room again")
        #expect(lines[3].1 == "changes on other hosts reach this process at their commit again: it listens for them")
        #expect(handler.entries[0].metadata["freeMiB"] == "90")
    }

    /// Slower reads name each read that could not be set up, a line each.
    @Test mutating func slowerReadsAreALineForEachReadMissing() {
        log.report([.slowerReads(["change watcher: …", "checkpointer: …"]), .readOnly])
        #expect(said().map(\.1) == [
            "reading more slowly: a fast read could not be set up", "reading more slowly: a fast read could not be set up",
            "the database is read-only to this process: keys are verified and read, every change is refused; "
                + "restart it once it may write the file and its folder",
        ])
    }
}
