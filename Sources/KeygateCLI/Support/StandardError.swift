#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Diagnostics for people go to stderr, so stdout carries only the
/// command's output (and, for `keygate serve`, only protocol frames).
enum StandardError {
    static func write(_ line: String) {
        write(bytes: Array((line + "\n").utf8))
    }

    /// Writes `bytes` with `write(2)`, in one call where the pipe takes
    /// them whole (a line up to 4 KiB), so lines from two threads never
    /// interleave. A reader that went away loses the text, and nothing
    /// else: Foundation's `FileHandle.write` stops the process on EPIPE.
    static func write(bytes: [UInt8]) {
        bytes.withUnsafeBytes { buffer in
            guard let base = buffer.baseAddress else { return }
            var offset = 0
            while offset < buffer.count {
                let written = systemWrite(2, base + offset, buffer.count - offset)
                if written > 0 {
                    offset += written
                } else if written < 0, errno == EINTR {
                    continue
                } else {
                    return
                }
            }
        }
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
#endif
