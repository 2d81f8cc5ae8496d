import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeygateRPC
import KeygateTestSupport
import Testing

@Suite("Reading request lines")
struct LineReaderTests {
    /// The lines a reader with `limit` hands on from `text`, written to a
    /// pipe and closed: each line's length, or `oversized`.
    func lines(of text: String, limit: Int) throws -> [String] {
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        let bytes = Array(text.utf8)
        // Smaller than the pipe's buffer, so one write takes it all.
        try #require(bytes.count < 16_384)
        let written = bytes.withUnsafeBytes { write(ends[1], $0.baseAddress, $0.count) }
        close(ends[1])
        defer { close(ends[0]) }
        try #require(written == bytes.count)
        var reader = LineReader(descriptor: ends[0], limit: limit)
        var events: [String] = []
        reader.run(shouldStop: { false }) { event in
            switch event {
            case .line(let line): events.append("\(line.count)")
            case .oversized: events.append("oversized")
            }
        }
        return events
    }

    /// `--max-line-bytes` is the longest line read, its newline not
    /// counted: a line of exactly the limit is read, one byte more is
    /// oversized, and the next line is read as usual.
    @Test func aLineOfExactlyTheLimitIsReadAndOneByteMoreIsNot() throws {
        let limit = 1_024
        let text = String(repeating: "a", count: limit) + "\n" + String(repeating: "b", count: limit + 1) + "\nc\n"
        #expect(try lines(of: text, limit: limit) == ["1024", "oversized", "1"])
    }
}

/// A parent may hand `keygate serve` non-blocking stdio: the mode belongs to
/// the pipe, which the process shares with whoever set it. Reading and
/// writing then wait for the pipe as they would on a blocking one.
@Suite("Non-blocking stdio")
struct NonBlockingStdioTests {
    /// Received lines, and a signal for each, from the reading thread.
    final class Received: @unchecked Sendable {
        private let lock = NSLock()
        private var lines: [String] = []
        let arrived = DispatchSemaphore(value: 0)
        let finished = DispatchSemaphore(value: 0)

        func add(_ line: String) {
            lock.withLock { lines.append(line) }
            arrived.signal()
        }

        var all: [String] { lock.withLock { lines } }
    }

    func nonBlockingPipe() throws -> (read: Int32, write: Int32) {
        // A failing reader closes its end: the test's next write fails, not the test process.
        signal(SIGPIPE, SIG_IGN)
        var ends: [Int32] = [0, 0]
        try #require(pipe(&ends) == 0)
        try NonBlockingPipes.make(ends[0], ends[1])
        return (ends[0], ends[1])
    }

    /// An empty non-blocking pipe answers a read with `EAGAIN`; that is no
    /// end of input: the reader waits for the next line.
    @Test func anEmptyNonBlockingInputIsWaitedForNotTakenForItsEnd() throws {
        let (readEnd, writeEnd) = try nonBlockingPipe()
        let received = Received()
        Thread.detachNewThread {
            var reader = LineReader(descriptor: readEnd, limit: 1_024)
            reader.run(shouldStop: { false }) { event in
                if case .line(let bytes) = event { received.add(String(decoding: bytes, as: UTF8.self)) }
            }
            close(readEnd)
            received.finished.signal()
        }
        #expect(write(writeEnd, "first\n", 6) == 6)
        // The reader has read all there was; its next read finds the pipe empty.
        try #require(received.arrived.wait(timeout: .now() + 10) == .success)
        #expect(write(writeEnd, "second\n", 7) == 7)
        close(writeEnd)
        try #require(received.finished.wait(timeout: .now() + 10) == .success)
        #expect(received.all == ["first", "second"])
    }

    /// A full non-blocking pipe answers a write with `EAGAIN`; that is no
    /// reader gone: the writer waits for room, and every byte arrives.
    @Test func aFullNonBlockingOutputIsWaitedForNotTakenForAReaderGone() throws {
        let (readEnd, writeEnd) = try nonBlockingPipe()
        defer { close(readEnd) }
        var filled = 0
        let block = [UInt8](repeating: UInt8(ascii: "x"), count: 4_096)
        while true {
            let written = block.withUnsafeBytes { write(writeEnd, $0.baseAddress, $0.count) }
            guard written > 0 else { break }
            filled += written
        }
        #expect(errno == EAGAIN)
        let line = [UInt8](repeating: UInt8(ascii: "r"), count: 99)
        let lines = 1_000
        let outcome = Received()
        Thread.detachNewThread {
            var writer = LineWriter(descriptor: writeEnd)
            var written = true
            for _ in 0..<lines where written { written = writer.append(line) }
            if written { written = writer.flush() }
            close(writeEnd)
            outcome.add(written ? "written" : "failed")
            outcome.finished.signal()
        }
        // Nobody reads: a writer that took the full pipe for a reader gone
        // would be done by now.
        #expect(outcome.finished.wait(timeout: .now() + 0.2) == .timedOut)
        var total = 0
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if count > 0 {
                total += count
            } else if count == 0 || errno != EAGAIN {
                break
            } else {
                // A writer that stopped writing ends the test, not the run.
                var ready = pollfd(fd: readEnd, events: Int16(POLLIN), revents: 0)
                guard poll(&ready, 1, 10_000) > 0 else { break }
            }
        }
        try #require(outcome.finished.wait(timeout: .now() + 10) == .success)
        #expect(outcome.all == ["written"])
        #expect(total == filled + lines * (line.count + 1))
    }
}
