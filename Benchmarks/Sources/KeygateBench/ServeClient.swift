import Foundation

/// A `keygate serve` child process, spoken to over pipes with raw bytes,
/// so that the client's own cost stays small next to the server's.
/// `@unchecked`: one thread sends while another reads; they use different pipes.
final class ServeClient: @unchecked Sendable {
    let process = Process()
    private let input = Pipe()
    private let output = Pipe()
    private var buffer = [UInt8]()
    private var start = 0

    init(executable: URL, database: String, catalog: URL, localization: URL, arguments: [String] = []) throws {
        process.executableURL = executable
        process.arguments = ["serve", "--database", database, "--catalog", catalog.path, "--localization", localization.path,
                             "--log-level", "warning"] + arguments
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.standardError
        try process.run()
    }

    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let written = write(input.fileHandleForWriting.fileDescriptor, raw.baseAddress! + offset, raw.count - offset)
                if written <= 0 { return }
                offset += written
            }
        }
    }

    /// The next reply line.
    func readLine() -> ArraySlice<UInt8> {
        while true {
            if let newline = buffer[start...].firstIndex(of: 0x0A) {
                let line = buffer[start..<newline]
                start = newline + 1
                return line
            }
            if start > 0 {
                buffer.removeFirst(start)
                start = 0
            }
            var chunk = [UInt8](repeating: 0, count: 1 << 16)
            let count = chunk.withUnsafeMutableBytes { read(output.fileHandleForReading.fileDescriptor, $0.baseAddress, $0.count) }
            if count <= 0 { return [] }
            buffer += chunk[0..<count]
        }
    }

    /// Sends `lines` from a thread of their own while reading a reply to
    /// each, as a client keeping the pipe full does: replies per second.
    /// `reply` sees each reply, in order.
    func pipelinedRate(_ lines: [[UInt8]], reply: (ArraySlice<UInt8>) -> Void = { _ in }) -> Double {
        let start = Measure.now()
        Thread { for line in lines { self.send(line) } }.start()
        for _ in lines { reply(readLine()) }
        return Double(lines.count) / (Double(Measure.now() - start) / 1e9)
    }

    func call(_ line: String) -> String {
        send(Array((line + "\n").utf8))
        return String(decoding: readLine(), as: UTF8.self)
    }

    /// Resident memory now and at its peak, in MiB (Linux).
    func memory() -> (resident: Double, peak: Double) {
        guard let status = try? String(contentsOfFile: "/proc/\(process.processIdentifier)/status", encoding: .utf8) else {
            return (0, 0)
        }
        func field(_ name: String) -> Double {
            let line = status.split(separator: "\n").first { $0.hasPrefix(name) } ?? ""
            return Double(line.split(separator: " ").dropFirst().first ?? "0").map { $0 / 1024 } ?? 0
        }
        return (field("VmRSS:"), field("VmHWM:"))
    }

    func stop() {
        try? input.fileHandleForWriting.close()
        process.waitUntilExit()
    }

    /// Ends the process at once, as a crash would (nothing flushed).
    func kill() {
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
