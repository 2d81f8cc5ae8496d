import Foundation
import GRDB
import KeygateRPC
#if canImport(Glibc)
import Glibc
#endif
import KeygateTestSupport
import Testing

@Suite("keygate serve keeps serving", .serialized)
struct ServeRobustnessTests {
    /// Valid and invalid lines mixed: every line gets its answer, in order,
    /// and the process is still there at the end.
    @Test func aSessionMixingValidAndInvalidLinesIsAnsweredLineByLine() throws {
        let serve = try ServeProcess(arguments: ["--max-line-bytes", "4096"])
        let ok = #"{"jsonrpc":"2.0","id":"ok","method":"subscriptions.get","params":{"organizationId":"org_1"}}"#
        let inputs: [(String?, [UInt8]?, String)] = [
            (ok, nil, "result"),
            ("{not json", nil, "-32700"),
            (nil, Array(#"{"jsonrpc":"2.0","id":2,"method":"subscriptions.get","params":{"organizationId":""#.utf8) + [0xFF, 0xFE] + Array(#""}}"#.utf8) + [0x0A], "-32700"),
            (#"{"jsonrpc":"2.0","id":3,"method":"keys.list","params":{"organizationId":"org_1","limit":"ten"}}"#, nil, "-32602"),
            (#"{"jsonrpc":"2.0","id":4,"method":"keys.list","params":{"organizationId":"org_1","limit":1e400}}"#, nil, "-32602"),
            (#"{"jsonrpc":"2.0","id":5,"method":"keys.nuke"}"#, nil, "-32601"),
            (#"{"jsonrpc":"2.0","id":6,"method":"keys.list","params":{"organizationId":"org_1"},"x":"#
                + "\"" + String(repeating: "A", count: 10_000) + "\"}", nil, "request_too_large"),
            (#"{"jsonrpc":"2.0","id":7,"method":"keys.get","params":{"organizationId":"org_1","keyId":"key_nobody"}}"#, nil, "-32001"),
            (String(repeating: "[", count: 1_000), nil, "-32700"),
            (ok, nil, "result"),
        ]
        for (text, bytes, _) in inputs {
            if let text { serve.send(text) }
            if let bytes { serve.send(bytes: bytes) }
        }
        for (_, _, expected) in inputs {
            let line = try serve.nextLine()
            #expect(line.contains(expected), "\(line)")
        }
        #expect(serve.process.isRunning)
        #expect(serve.finish() == 0)
    }

    /// SIGTERM (a supervisor), SIGINT (Ctrl-C) and SIGHUP (the terminal
    /// or session it ran in closed) each stop the server as a closed input
    /// does: usage written, exit 0. SIGHUP's default would have ended it
    /// with the last second's counts unwritten.
    @Test(arguments: [SIGTERM, SIGINT, SIGHUP])
    func aStopSignalFinishesFlushesUsageAndExitsZero(_ signal: Int32) throws {
        let serve = try ServeProcess()
        _ = try serve.result("subscriptions.setPlan", ["organizationId": "org_t", "plan": "pro", "eventId": "e", "occurredAt": "2026-11-01T00:00:00Z"])
        let created = try serve.result("keys.create", [
            "organizationId": "org_t", "name": "k", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])
        let secret = try #require(created["secret"] as? String)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        for _ in 0..<5 { _ = try serve.result("keys.verify", ["key": secret, "capability": "booking.read"]) }
        kill(serve.process.processIdentifier, signal)
        #expect(serve.waitForExit() == 0)
        #expect(serve.stderr.contains("[KeygateCLI] stopped"))
        #expect(serve.stderr.contains(" version=\(KeygateVersion.current) [KeygateCLI] serving"), "which version serves is said")

        let again = try ServeProcess(database: serve.database)
        let key = try again.result("keys.get", ["organizationId": "org_t", "keyId": keyId])
        #expect((key["usage"] as? [String: Any])?["valid"] as? Int == 5)
        #expect(key["lastUsedAt"] is String)
        #expect(again.finish() == 0)
    }

    /// The health checks OPERATIONS gives: one answered from memory, one
    /// that reads the database, and neither changes anything.
    @Test func theHealthChecksAnswerAndChangeNothing() throws {
        let serve = try ServeProcess()
        let live = try serve.result("catalog.capabilities", [:])
        #expect((live["capabilities"] as? [Any])?.isEmpty == false)
        let ready = try serve.result("subscriptions.get", ["organizationId": "health-check"])
        #expect(ready["plan"] as? String == "free")
        #expect(ready["updatedAt"] is NSNull)
        #expect(serve.finish() == 0)

        let database = try DatabaseQueue(path: serve.database.path)
        for table in ["subscription", "audit_entry", "outbox_event", "meter_usage"] {
            #expect(try database.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM \(table)") } == 0, "\(table)")
        }
    }

    /// A PostgreSQL server that cannot be reached stops start-up with a
    /// message naming it, its password replaced; no server is needed.
    @Test func anUnreachableServerStopsStartupAndItsPasswordStaysSecret() throws {
        let serve = try ServeProcess(postgres: "postgresql://keygate:s3cret-word@127.0.0.1:1/keygate?connect_timeout=2")
        #expect(serve.waitForExit() == 1)
        #expect(serve.stderr.contains("cannot reach the PostgreSQL server at postgresql://keygate:***@127.0.0.1:1/keygate"))
        #expect(!serve.stderr.contains("s3cret-word"))
        #expect(serve.stdoutLines.isEmpty)
    }

    @Test func aDatabaseInAMissingFolderStopsStartupSayingWhichFolder() throws {
        let folder = try ScratchFolder.make("keygate-missing").appending(path: "not-made")
        let serve = try ServeProcess(database: folder.appending(path: "keygate.sqlite"))
        #expect(serve.waitForExit() == 1)
        #expect(serve.stderr.contains("keygate.sqlite cannot be created: its folder \(folder.path) does not exist"), "\(serve.stderr)")
        #expect(serve.stdoutLines.isEmpty)
    }

    /// With nobody reading its stderr (the parent closed it), a server
    /// that cannot start still exits 1: Foundation's `FileHandle.write`
    /// stopped the process (SIGILL) on the failed write of its message.
    @Test func aServerThatCannotStartExitsCleanlyWhenNobodyReadsItsErrors() throws {
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["serve", "--catalog", "/nonexistent/plans.xml"]
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try errors.fileHandleForReading.close()
        try process.run()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 1)
    }

    /// A parent may hand the server non-blocking stdio (the mode belongs
    /// to the pipe, shared with whoever set it). With nobody
    /// reading, stdout fills: the server waits for its reader as on a
    /// blocking pipe, where it took the full pipe for a reader gone and
    /// stopped, exit 0, with most replies never sent.
    @Test(.timeLimit(.minutes(1)))
    func aNonBlockingStdoutThatFillsLosesNoReply() throws {
        signal(SIGPIPE, SIG_IGN)
        let database = try ScratchFolder.make("keygate-nonblocking").appending(path: "keygate.sqlite")
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["serve", "--database", database.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["ASAN_OPTIONS": "detect_leaks=0"]) { $1 }
        let input = Pipe()
        let output = Pipe()
        let errors = Pipe()
        try NonBlockingPipes.make(input.fileHandleForReading.fileDescriptor, output.fileHandleForWriting.fileDescriptor,
                                  errors.fileHandleForWriting.fileDescriptor)
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let requests = 2_000
        let text = (0..<requests).map { id in
            #"{"jsonrpc":"2.0","id":\#(id),"method":"keys.verify","params":{"key":"kg_live_notakey"}}"#
        }.joined(separator: "\n") + "\n"
        let written = DispatchSemaphore(value: 0)
        Thread.detachNewThread {
            try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
            try? input.fileHandleForWriting.close()
            written.signal()
        }
        // Nobody reads until the pipe is full (or the server has gone):
        // then its next reply finds no room.
        #expect(NonBlockingPipes.waitUntilFull(output.fileHandleForReading.fileDescriptor) { process.isRunning })
        // Time for a server that takes the full pipe for a reader gone to stop.
        poll(nil, 0, 200)
        let replies = String(decoding: try output.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
            .split(separator: "\n")
        process.waitUntilExit()
        #expect(written.wait(timeout: .now() + 10) == .success)
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        #expect(replies.count == requests)
        #expect(replies.enumerated().allSatisfy { index, reply in
            reply.hasPrefix(#"{"jsonrpc":"2.0","id":\#(index),"result":{"valid":false,"code":"malformed""#)
        })
        let log = String(decoding: try errors.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
        #expect(log.contains("] serving") && log.hasSuffix("] stopped\n"), "\(log)")
    }

    /// stdout that fails for another reason than its reader leaving (a
    /// full disk, here `/dev/full`) is an error: the server says why and
    /// exits 1, where it stopped as if the reader had gone, exit 0, saying
    /// nothing.
    @Test func repliesThatCannotBeWrittenStopTheServerWithTheReason() throws {
        let database = try ScratchFolder.make("keygate-full-stdout").appending(path: "keygate.sqlite")
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["serve", "--database", database.path]
        process.environment = ProcessInfo.processInfo.environment.merging(["ASAN_OPTIONS": "detect_leaks=0"]) { $1 }
        let input = Pipe()
        let errors = Pipe()
        process.standardInput = input
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/full")
        process.standardError = errors
        try process.run()
        try input.fileHandleForWriting.write(contentsOf: Data(
            #"{"jsonrpc":"2.0","id":1,"method":"keys.verify","params":{"key":"kg_live_notakey"}}"#.utf8 + [0x0A]))
        try input.fileHandleForWriting.close()
        let log = String(decoding: try errors.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 1)
        #expect(log.contains("cannot write replies to stdout"), "\(log)")
        #expect(log.contains("No space left on device"), "\(log)")
    }

    @Test func aMissingCatalogStopsStartupWithAClearMessage() throws {
        let serve = try ServeProcess(arguments: ["--catalog", "/nonexistent/plans.xml"])
        #expect(serve.waitForExit() == 1)
        #expect(serve.stderr.contains("/nonexistent/plans.xml: no such file"))
        #expect(serve.stdoutLines.isEmpty)
    }
}
