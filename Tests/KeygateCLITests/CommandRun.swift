import Foundation

/// One run of a `keygate` command that ends by itself (`scan`, `import`):
/// its exit status and everything it wrote.
struct CommandRun {
    let status: Int32
    let output: String
    let errors: String

    init(_ arguments: [String], in folder: URL, input: String? = nil, executable: URL = ServeProcess.executable) throws {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.currentDirectoryURL = folder
        let output = Pipe()
        let errors = Pipe()
        let stdin = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = input == nil ? FileHandle.nullDevice : stdin
        try process.run()
        if let input {
            stdin.fileHandleForWriting.write(Data(input.utf8))
            try stdin.fileHandleForWriting.close()
        }
        // Both pipes drained at once, so neither can fill and stall the command.
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
        self.output = String(decoding: out, as: UTF8.self)
        self.errors = String(decoding: err, as: UTF8.self)
    }
}
