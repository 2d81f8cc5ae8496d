#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads newline-delimited messages from a file descriptor with `read(2)`
/// that waits for input, the fastest way to take lines from a pipe
/// (``DescriptorIO``: a non-blocking descriptor is waited for too).
///
/// A line longer than the limit is never held whole: once it passes the
/// limit its bytes are dropped as they arrive, and the caller is told once
/// the line ends, so one huge message costs no more memory than the limit.
public struct LineReader: ~Copyable {
    public enum Event {
        case line(UnsafeBufferPointer<UInt8>)
        case oversized
    }

    private let descriptor: Int32
    private let wakeDescriptor: Int32?
    private let limit: Int
    private var buffer: [UInt8]
    private var line: [UInt8] = []
    private var discarding = false

    /// - Parameter wakeDescriptor: a descriptor that becomes readable when
    ///   reading should stop (a signal handler's self-pipe). A signal may be
    ///   delivered to any thread, so interrupting `read(2)` is not enough.
    public init(descriptor: Int32, limit: Int, wakeDescriptor: Int32? = nil) {
        self.descriptor = descriptor
        self.wakeDescriptor = wakeDescriptor
        self.limit = limit
        buffer = [UInt8](repeating: 0, count: 64 * 1024)
    }

    /// Reads until end of input, until the wake descriptor is readable, or
    /// until `shouldStop` says so after a handled line; hands each line to
    /// `handle`, and calls `idle` whenever every line read so far is handled
    /// and the next read may block (the moment to send buffered replies).
    public mutating func run(shouldStop: () -> Bool, idle: () -> Void = {}, _ handle: (Event) -> Void) {
        defer { idle() }
        while !shouldStop() {
            idle()
            guard waitForInput() else { return }
            let count = buffer.withUnsafeMutableBytes { DescriptorIO.read(descriptor, into: $0) }
            if count <= 0 { break }
            var start = 0
            for index in 0..<count where buffer[index] == UInt8(ascii: "\n") {
                append(start..<index)
                finishLine(handle)
                start = index + 1
                if shouldStop() { return }
            }
            append(start..<count)
        }
        if !line.isEmpty || discarding { finishLine(handle) }
    }

    /// `false` when the wake descriptor says to stop.
    private func waitForInput() -> Bool {
        guard let wakeDescriptor else { return true }
        var descriptors = [
            pollfd(fd: descriptor, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeDescriptor, events: Int16(POLLIN), revents: 0),
        ]
        while poll(&descriptors, 2, -1) < 0 {
            if errno != EINTR { return true }
        }
        return descriptors[1].revents == 0
    }

    private mutating func append(_ range: Range<Int>) {
        guard !discarding, !range.isEmpty else { return }
        if line.count + range.count > limit {
            discarding = true
            line = []
        } else {
            line += buffer[range]
        }
    }

    private mutating func finishLine(_ handle: (Event) -> Void) {
        defer {
            line.removeAll(keepingCapacity: line.capacity <= 1 << 20)
            discarding = false
        }
        if discarding {
            handle(.oversized)
            return
        }
        if line.last == UInt8(ascii: "\r") { line.removeLast() }
        // Blank lines between messages are allowed and ignored.
        guard line.contains(where: { $0 != 0x20 && $0 != 0x09 }) else { return }
        line.withUnsafeBufferPointer { handle(.line($0)) }
    }
}

/// Writes replies to a file descriptor. Replies to requests that arrived
/// together are gathered and written with one `write(2)`; everything is
/// written before the server waits for more input, so a caller sending one
/// request at a time gets its reply at once.
public struct LineWriter: ~Copyable {
    private let descriptor: Int32
    private var pending: [UInt8] = []
    /// Why the last write failed (`errno`): `EPIPE` when the reader has
    /// gone, anything else a fault to report (a full disk, `EIO`).
    public private(set) var failure: Int32?

    public init(descriptor: Int32) {
        self.descriptor = descriptor
        pending.reserveCapacity(1 << 16)
    }

    /// Adds a reply and its newline; writes early if a lot is gathered.
    /// `false` when the reader is gone.
    public mutating func append(_ bytes: [UInt8]) -> Bool {
        pending += bytes
        pending.append(UInt8(ascii: "\n"))
        return pending.count < 1 << 16 || flush()
    }

    /// Writes what is gathered; `false` when the reader is gone.
    public mutating func flush() -> Bool {
        guard !pending.isEmpty else { return true }
        defer { pending.removeAll(keepingCapacity: true) }
        guard pending.withUnsafeBytes({ DescriptorIO.write(descriptor, $0) }) else {
            failure = errno
            return false
        }
        return true
    }
}
