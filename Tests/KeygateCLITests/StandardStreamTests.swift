import Foundation
import KeygateTestSupport
import Testing
#if canImport(Glibc)
import Glibc
#endif

/// stdout that cannot be written, and stdio a parent left closed, as a
/// script or a supervisor running `keygate` meets them.
@Suite("keygate and the stdio it is given")
struct StandardStreamTests {
    /// Runs `keygate` with `arguments` through the shell, its stdio
    /// redirected by `redirections` (`>/dev/full`, `>&-`).
    func keygate(_ arguments: [String], redirections: String, in folder: URL, input: String? = nil) throws -> ToolRun {
        try ToolRun(URL(filePath: "/bin/sh"), ["-c", "exec \"$0\" \"$@\" \(redirections)", ServeProcess.executable.path] + arguments,
                    in: folder, input: input)
    }

    /// Output lost to a full disk fails the command, saying why, where it
    /// exited 0 with nothing written (a deploy script took
    /// `keygate migrate > log` on a full disk for success). The operator
    /// commands fail with 2, as for other I/O errors; the rest with 1.
    @Test(arguments: [
        (["catalog", "show"], "catalog", Int32(1)),
        (["migrate"], "migrate", 2),
        (["scan", "--format", "json", "notes.txt"], "scan", 2),
        (["--version"], nil, 1),
    ] as [([String], String?, Int32)])
    func outputThatCannotBeWrittenFailsTheCommand(_ arguments: [String], _ command: String?, _ status: Int32) throws {
        let folder = try ScratchFolder.make("keygate-full-stdout")
        try Data("nothing secret here\n".utf8).write(to: folder.appending(path: "notes.txt"))
        let run = try keygate(arguments, redirections: ">/dev/full", in: folder)
        #expect(run.status == status, "\(run.errors)")
        let name = command.map { "keygate \($0)" } ?? "keygate"
        #expect(run.errors.contains("\(name): cannot write to stdout: No space left on device"), "\(run.errors)")
    }

    /// A stdout the parent closed is output that cannot be written, not
    /// output to throw away: the descriptor, taken over by whatever the
    /// process opened next, swallowed it and the command exited 0.
    @Test func aClosedStdoutFailsTheCommand() throws {
        let run = try keygate(["catalog", "validate"], redirections: ">&-", in: try ScratchFolder.make("keygate-closed-stdout"))
        #expect(run.status == 1)
        #expect(run.errors.contains("keygate catalog: cannot write to stdout: stdout is closed"), "\(run.errors)")
    }

    /// `keygate serve` with stdout closed refuses to start, before it
    /// applies anything: it applied a billing event and then failed to
    /// write its reply into one of Dispatch's descriptors, which had taken
    /// the number.
    @Test func serveRefusesAClosedStdoutBeforeApplyingAnything() throws {
        let folder = try ScratchFolder.make("keygate-closed-stdout")
        let event = #"{"jsonrpc":"2.0","id":1,"method":"subscriptions.setPlan","params":{"organizationId":"org_1","plan":"pro","#
            + #""eventId":"evt_1","occurredAt":"2026-11-22T10:00:00Z"}}"#
        let run = try keygate(["serve", "--database", "keygate.sqlite"], redirections: ">&-", in: folder, input: event + "\n")
        #expect(run.status == 1)
        #expect(run.errors.contains("keygate serve cannot start: stdout is closed, so replies would have nowhere to go"),
                "\(run.errors)")
        #expect(!FileManager.default.fileExists(atPath: folder.appending(path: "keygate.sqlite").path))
    }

    /// A stderr the parent closed becomes `/dev/null` before anything is
    /// opened, so that no file or socket of the server's takes its number
    /// and its log lines; it was one of Dispatch's descriptors.
    @Test(.enabled(if: FileManager.default.fileExists(atPath: "/proc/self/fd")), .timeLimit(.minutes(1)))
    func aClosedStderrBecomesTheNullDevice() throws {
        let process = Process()
        process.executableURL = URL(filePath: "/bin/sh")
        let database = try ScratchFolder.make("keygate-closed-stderr").appending(path: "keygate.sqlite")
        process.arguments = ["-c", "exec \"$0\" serve --database \"$1\" 2>&-", ServeProcess.executable.path, database.path]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data(
            #"{"jsonrpc":"2.0","id":1,"method":"keys.verify","params":{"key":"kg_live_notakey"}}"#.utf8 + [0x0A]))
        // Once it has answered, it has opened all it opens at start.
        var reply = Data()
        while !reply.contains(0x0A) {
            let bytes = output.fileHandleForReading.availableData
            if bytes.isEmpty { break }
            reply.append(bytes)
        }
        let errors = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process.processIdentifier)/fd/2")
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        #expect(String(decoding: reply, as: UTF8.self).contains(#""code":"malformed""#))
        #expect(errors == "/dev/null")
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
    }
}
