import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeygateRPC
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
