#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// `read(2)` and `write(2)` that behave as on a blocking descriptor, whatever
/// mode the descriptor is in.
///
/// Whether a descriptor blocks belongs to the open file, which a process
/// shares with whoever handed it over: a parent whose event loop made a
/// pipe non-blocking and passed it on as the child's stdout (some runtimes
/// leave the mode set in the child) gives Keygate a non-blocking stdout.
/// There `write(2)` to a full pipe fails with `EAGAIN` at once, which taken
/// for a reader gone lost replies and stopped the server. These calls wait
/// with `poll(2)` instead, as a blocking call would, and never change the
/// mode: the descriptor's other holders rely on it.
public enum DescriptorIO {
    /// Writes all of `bytes`, waiting while the descriptor is full; `false`
    /// when it cannot be written to, `errno` saying why (`EPIPE`: the reader
    /// is gone).
    public static func write(_ descriptor: Int32, _ bytes: UnsafeRawBufferPointer) -> Bool {
        guard let base = bytes.baseAddress else { return true }
        var offset = 0
        while offset < bytes.count {
            let written = systemWrite(descriptor, base + offset, bytes.count - offset)
            if written >= 0 {
                offset += written
            } else if errno == EINTR {
                continue
            } else if errno == EAGAIN || errno == EWOULDBLOCK {
                // A reader gone shows as POLLERR, and the next write as EPIPE.
                guard waitUntilReady(descriptor, for: Int16(POLLOUT)) else { return false }
            } else {
                return false
            }
        }
        return true
    }

    /// Whether a failed write's `errno` says only that the reader left
    /// (`EPIPE`, or `ECONNRESET` on a socket): a normal end, where any
    /// other failure (a full disk, `EIO`, a closed descriptor) lost output
    /// that someone must hear of.
    public static func readerLeft(_ code: Int32) -> Bool {
        code == EPIPE || code == ECONNRESET
    }

    /// Reads what is there, waiting until something is: the count read,
    /// 0 at the end of input, -1 with `errno` set on a failure.
    public static func read(_ descriptor: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
        while true {
            let count = systemRead(descriptor, buffer.baseAddress, buffer.count)
            if count >= 0 { return count }
            if errno == EINTR { continue }
            guard errno == EAGAIN || errno == EWOULDBLOCK, waitUntilReady(descriptor, for: Int16(POLLIN)) else { return -1 }
        }
    }

    /// Waits until `poll(2)` reports `events`, or a hang-up or error (which
    /// the next call reports), on `descriptor`; `false` when `poll` fails.
    private static func waitUntilReady(_ descriptor: Int32, for events: Int16) -> Bool {
        var request = pollfd(fd: descriptor, events: events, revents: 0)
        while poll(&request, 1, -1) < 0 {
            if errno != EINTR { return false }
        }
        return true
    }
}

#if canImport(Glibc)
private let systemWrite = Glibc.write
private let systemRead = Glibc.read
#elseif canImport(Darwin)
private let systemWrite = Darwin.write
private let systemRead = Darwin.read
#endif
