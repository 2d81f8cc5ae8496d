public import Foundation

/// One run of a program to its end: its exit status and what it wrote.
///
/// Its stdin is written and both its pipes drained at once, so a program
/// that writes much to one while the test reads the other cannot fill it
/// and stall (reading stdout to its end and then stderr hangs on a
/// chatty stderr).
public struct ToolRun: Sendable {
    public let status: Int32
    /// The signal that ended it, if one did: `status` is then that
    /// signal's number, which may look like an exit status (a trap is 4).
    public let signal: Int32?
    public let output: String
    public let errors: String

    /// Whether it exited with status 0.
    public var succeeded: Bool { status == 0 }

    /// Runs `executable` with `arguments` in `folder` (the test's own by
    /// default), with `environment` added to the test's, and `input` (or
    /// nothing) on its stdin.
    public init(_ executable: URL, _ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:],
                input: String? = nil) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        if let folder { process.currentDirectoryURL = folder }
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let output = Pipe()
        let errors = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        // Input from a thread of its own too: a program that answers as it
        // reads would otherwise fill its stdout while the test still writes.
        if let input {
            Thread.detachNewThread {
                try? stdin.fileHandleForWriting.write(contentsOf: Data(input.utf8))
                try? stdin.fileHandleForWriting.close()
            }
        }
        nonisolated(unsafe) var err = Data()
        let drained = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            err = errors.fileHandleForReading.readDataToEndOfFile()
            drained.signal()
        }
        let out = output.fileHandleForReading.readDataToEndOfFile()
        drained.wait()
        process.waitUntilExit()
        status = process.terminationStatus
        signal = process.terminationReason == .uncaughtSignal ? process.terminationStatus : nil
        self.output = String(decoding: out, as: UTF8.self)
        self.errors = String(decoding: err, as: UTF8.self)
    }

    /// Runs the program `name` found on the `PATH` (through `/usr/bin/env`).
    public init(_ name: String, _ arguments: [String], in folder: URL? = nil, environment: [String: String] = [:],
                input: String? = nil) throws {
        try self.init(URL(filePath: "/usr/bin/env"), [name] + arguments, in: folder, environment: environment, input: input)
    }

    /// Whether `name` ran and exited with status 0; false too when it
    /// could not be started (not installed).
    public static func succeeds(_ name: String, _ arguments: [String]) -> Bool {
        (try? ToolRun(name, arguments))?.succeeded ?? false
    }
}
