#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import KeygateRPC
import Locking

/// What the one-shot commands print for a person or a pipeline. Written with
/// `write(2)` rather than `print`: a parent may hand over a non-blocking
/// stdout, and the C library's buffered output drops what a full pipe
/// refuses, where this waits for the reader.
///
/// Output that cannot be written (a full disk, a closed stdout) is not
/// thrown away in silence: `keygate status > report.json` on a full disk
/// exited 0 with the file empty, which a deploy script takes for success.
/// The first failure is kept, nothing more is written, and ``lost`` says
/// why for `main` to report. A reader that left (`EPIPE`, as when `head`
/// has read enough) is not a failure: it chose to stop reading.
enum StandardOutput {
    private static let failure = Locked<Int32?>(nil)

    static func write(_ text: String, terminator: String = "\n") {
        failure.withLock { failure in
            guard failure == nil else { return }
            guard !StandardDescriptors.wasClosed(1) else {
                failure = EBADF
                return
            }
            if !Array((text + terminator).utf8).withUnsafeBytes({ DescriptorIO.write(1, $0) }) { failure = errno }
        }
    }

    /// Why output was lost, if it was and not because its reader left.
    static var lost: String? {
        failure.withLock { failure -> String? in
            switch failure {
            case nil: nil
            case let code? where DescriptorIO.readerLeft(code): nil
            case EBADF? where StandardDescriptors.wasClosed(1): "stdout is closed"
            case let code?: String(cString: strerror(code))
            }
        }
    }
}
