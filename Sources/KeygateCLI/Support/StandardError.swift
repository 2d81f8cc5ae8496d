import KeygateRPC

/// Diagnostics for people go to stderr, so stdout carries only the
/// command's output (and, for `keygate serve`, only protocol frames).
enum StandardError {
    static func write(_ line: String) {
        write(bytes: Array((line + "\n").utf8))
    }

    /// Writes `bytes` with `write(2)`, in one call where the pipe takes
    /// them whole (a line up to 4 KiB), so lines from two threads never
    /// interleave; a non-blocking stderr that is full is waited for, as a
    /// blocking one would be. A reader that went away loses the text, and
    /// nothing else: Foundation's `FileHandle.write` stops the process on
    /// EPIPE.
    static func write(bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { DescriptorIO.write(2, $0) }
    }

    /// Where swift-log's text handler writes: each entry, a line, goes out
    /// in one `write(2)` as above, not through the C library's `stderr`,
    /// which drops what a full non-blocking pipe refuses.
    struct Stream: TextOutputStream, Sendable {
        mutating func write(_ string: String) {
            StandardError.write(bytes: Array(string.utf8))
        }
    }
}
