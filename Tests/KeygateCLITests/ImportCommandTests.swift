import Foundation
import KeygateTestSupport
import Testing

/// `keygate import`, as a product moving its existing keys in runs it.
@Suite("keygate import")
struct ImportCommandTests {
    static let catalog = ServeProcess.repository.appending(path: "Plans/examples/booking-engine.xml").path
    /// A key of the booking engine's old format and its SHA-256 (sha256sum).
    static let legacyKey = "qv_pk_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p_"
    static let legacyHex = "e12f3f65cc37520bbbcdbd2b526d9d943b9fa3d8536adb5a4c329b7d41378614"
    static let rawKey = "qv_pk_" + "Zq8rT2mW9xK4vB7nJ3hL6pD1sF5gA0cE"

    func line(_ object: [String: Any]) throws -> String {
        String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self)
    }

    @Test(arguments: Backend.withPooler) func aFileIsImportedOnceAndItsKeysVerify(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend, arguments: ["--catalog", Self.catalog])
        let folder = serve.database.deletingLastPathComponent()
        let database = serve.postgres ?? serve.database.path
        _ = try serve.result("subscriptions.setPlan", [
            "organizationId": "org_i", "plan": "professional", "eventId": "e1", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        let key: [String: Any] = ["organizationId": "org_i", "kind": "widget", "capabilities": ["read"]]
        let lines = [
            try line(key.merging(["name": "Front desk", "sha256": Self.legacyHex, "createdAt": "2024-03-01T00:00:00Z"]) { $1 }),
            "",
            try line(key.merging(["name": "Channel sync", "key": Self.rawKey, "lastUsedAt": "2026-11-20T08:00:00Z"]) { $1 }),
            try line(key.merging(["name": "Unknown scope", "key": Self.rawKey + "x", "capabilities": ["delete"]]) { $1 }),
            "{\"organizationId\": \"org_i\", \"name\": ",
        ]
        let file = folder.appending(path: "keys.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)
        let arguments = ["import", file.path, "--database", database, "--catalog", Self.catalog]
            + (serve.pooled ? ["--pool-mode", "transaction"] : [])

        let first = try CommandRun(arguments + ["--format", "json"], in: folder)
        #expect(first.status == 1, "some lines were refused: \(first.errors)")
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(first.output.utf8)) as? [String: Any])
        #expect(summary["imported"] as? Int == 2 && summary["alreadyPresent"] as? Int == 0)
        #expect(summary["refused"] as? [String: Int] == ["unknown_capability": 1, "parse_error": 1])
        let refusals = try #require(summary["refusals"] as? [[String: Any]])
        #expect(refusals.compactMap { $0["line"] as? Int } == [4, 5])
        #expect(first.errors.contains("line 4: unknown_capability"))

        // Again: nothing new, and it says so.
        let second = try CommandRun(arguments, in: folder)
        #expect(second.status == 1)
        #expect(second.output.contains("imported          ") && second.output.contains("already present   "))
        let counts = second.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(counts.contains(["imported", "0"]) && counts.contains(["already", "present", "2"]))

        for secret in [Self.legacyKey, Self.rawKey] {
            let verified = try serve.result("keys.verify", ["key": secret, "capability": "read"])
            #expect(verified["valid"] as? Bool == true && verified["organizationId"] as? String == "org_i")
        }
        // The key given raw was hashed on the way in: printed nowhere, stored nowhere.
        for text in [first.output, first.errors, second.output, second.errors] {
            #expect(!text.contains("Zq8rT2mW9xK4vB7n"))
        }
        if backend == .sqlite {
            _ = serve.finish()
            for suffix in ["", "-wal"] {
                let bytes = (try? Data(contentsOf: URL(filePath: serve.database.path + suffix))) ?? Data()
                #expect(bytes.range(of: Data("Zq8rT2mW9xK4vB7n".utf8)) == nil)
            }
        }
    }

    /// A file longer than one batch goes in batches of 500, says how far it
    /// is every tenth of the file (standard error is not a terminal here),
    /// and lists the first 100 refused lines, then how many more.
    @Test func aLongFileGoesInBatchesWithProgressAndTheFirstHundredRefusals() throws {
        let serve = try ServeProcess(arguments: ["--catalog", Self.catalog])
        let folder = serve.database.deletingLastPathComponent()
        // The professional plan holds 20 active keys an organization: 60 organizations for 1,200 keys.
        let organizations = (0..<60).map { "org_\($0)" }
        for (index, organization) in organizations.enumerated() {
            _ = try serve.result("subscriptions.setPlan", [
                "organizationId": organization, "plan": "professional", "eventId": "e\(index)",
                "occurredAt": "2026-11-01T00:00:00Z",
            ])
        }
        var random = SeededRandom(seed: 13)
        var lines: [String] = []
        var refusedLines: [Int] = []
        for index in 0..<1_330 {
            let digest = (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &random)) }.joined()
            // Every tenth line, from the fifth, names a capability the catalog lacks: 133 in all, less 3 past the keys.
            let refused = index % 10 == 4 && refusedLines.count < 130
            if refused { refusedLines.append(index + 1) }
            lines.append(try line(["organizationId": organizations[(index - refusedLines.count) % 60], "name": "key \(index)",
                                   "kind": "widget", "capabilities": [refused ? "delete" : "read"], "sha256": digest]))
        }
        #expect(lines.count - refusedLines.count == 1_200)
        let file = folder.appending(path: "many.jsonl")
        try (lines.joined(separator: "\n") + "\n").write(to: file, atomically: true, encoding: .utf8)

        let run = try CommandRun(["import", file.path, "--database", serve.database.path, "--catalog", Self.catalog], in: folder)
        #expect(run.status == 1)
        let counts = run.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(counts.contains(["imported", "1200"]) && counts.contains(["refused", "130"]), "\(run.output)")
        let errors = run.errors.split(separator: "\n")
        let listed = errors.filter { $0.hasPrefix("line ") }
        #expect(listed.count == 100)
        #expect(listed.first?.hasPrefix("line \(refusedLines[0]): unknown_capability: ") == true)
        #expect(listed.last?.hasPrefix("line \(refusedLines[99]): unknown_capability: ") == true)
        #expect(errors.contains("… and 30 more refused lines"))
        // After each batch of 500 lines read (a refused capability is the service's to refuse, in
        // its batch), a line when a new tenth of the file is done.
        let progress = errors.filter { $0.contains("%: ") }
        #expect(progress.contains { $0.hasSuffix(": 450 imported, 0 present, 50 refused") }, "\(progress)")
        #expect(progress.contains { $0.hasSuffix(": 900 imported, 0 present, 100 refused") }, "\(progress)")

        let listedKeys = try serve.result("keys.list", ["organizationId": "org_59"])
        #expect((listedKeys["keys"] as? [Any])?.count == 20)
        _ = serve.finish()
    }

    /// A database this process may not write stops the import at the
    /// first batch, says at which line and why, and how to go on.
    @Test(.enabled(if: UnwritableFile.canMake, "this user can make no file unwritable to itself"))
    func anImportIntoADatabaseThatCannotBeWrittenStopsSayingWhere() throws {
        let serve = try ServeProcess(arguments: ["--catalog", Self.catalog])
        let folder = serve.database.deletingLastPathComponent()
        _ = try serve.result("subscriptions.setPlan", [
            "organizationId": "org_r", "plan": "professional", "eventId": "e1", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        #expect(serve.finish() == 0)
        let locked = try UnwritableFile(serve.database.path)
        defer { locked.release() }
        let good = try line(["organizationId": "org_r", "name": "Widget", "kind": "widget", "capabilities": ["read"],
                             "sha256": Self.legacyHex])
        let run = try CommandRun(["import", "-", "--database", serve.database.path, "--catalog", Self.catalog],
                                 in: folder, input: "\n" + good + "\n")
        // 2, a storage error, as against 1 for keys refused.
        #expect(run.status == 2, "\(run.errors)")
        #expect(run.errors.contains("keygate import: stopped at line 2: The database is read-only"), "\(run.errors)")
        #expect(run.errors.contains("(storage_failure). Keys before it are imported; import the file again to go on"))
        let counts = run.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(counts.contains(["imported", "0"]), "\(run.output)")
    }

    /// A failure of no known kind (a table gone from the database) says
    /// the database's own words after the code: the operator's lead.
    @Test func anImportStoppedByTheDatabaseSaysWhatTheDatabaseSaid() throws {
        let serve = try ServeProcess(arguments: ["--catalog", Self.catalog])
        let folder = serve.database.deletingLastPathComponent()
        _ = try serve.result("subscriptions.setPlan", [
            "organizationId": "org_t", "plan": "professional", "eventId": "e1", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        #expect(serve.finish() == 0)
        try SchemaFixture.execute("DROP TABLE outbox_event", on: serve.database.path)
        let good = try line(["organizationId": "org_t", "name": "Widget", "kind": "widget", "capabilities": ["read"],
                             "sha256": Self.legacyHex])
        let run = try CommandRun(["import", "-", "--database", serve.database.path, "--catalog", Self.catalog],
                                 in: folder, input: good + "\n")
        #expect(run.status == 2, "\(run.errors)")
        #expect(run.errors.contains("keygate import: stopped at line 1: The database failed; nothing was changed. "
            + "(storage_failure: no such table: outbox_event). Keys before it are imported"), "\(run.errors)")
    }

    /// A pipeline may hand `keygate import -` a non-blocking stdin (the
    /// mode belongs to the pipe, shared with whoever set it): still empty
    /// when the import first reads it, it is waited for. Foundation's read
    /// stopped the process there.
    @Test(.timeLimit(.minutes(1)))
    func aNonBlockingStdinIsWaitedFor() throws {
        signal(SIGPIPE, SIG_IGN)
        let serve = try ServeProcess(arguments: ["--catalog", Self.catalog])
        let folder = serve.database.deletingLastPathComponent()
        let good = try line(["organizationId": "org_n", "name": "Widget", "kind": "widget", "capabilities": ["read"],
                             "sha256": Self.legacyHex])
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["import", "-", "--database", serve.database.path, "--catalog", Self.catalog]
        process.currentDirectoryURL = folder
        let input = Pipe()
        let output = Pipe()
        try NonBlockingPipes.make(input.fileHandleForReading.fileDescriptor)
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Time for an import that takes the empty stdin for a failed read to stop.
        poll(nil, 0, 200)
        try? input.fileHandleForWriting.write(contentsOf: Data((good + "\n").utf8))
        try input.fileHandleForWriting.close()
        let printed = String(decoding: try output.fileHandleForReading.readToEnd() ?? Data(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 0)
        let rows = printed.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.contains(["imported", "1"]), "\(printed)")
        #expect(serve.finish() == 0)
    }

    @Test func aCleanFileExitsZeroAndAMissingOneTwo() throws {
        let serve = try ServeProcess(arguments: ["--catalog", Self.catalog])
        let folder = serve.database.deletingLastPathComponent()
        let good = try line(["organizationId": "org_j", "name": "Widget", "kind": "widget", "capabilities": ["read"],
                             "sha256": Self.legacyHex])
        let clean = try CommandRun(["import", "-", "--database", serve.database.path, "--catalog", Self.catalog],
                                   in: folder, input: good + "\n")
        #expect(clean.status == 0, "\(clean.errors)")
        #expect(clean.errors.contains("done in"))
        // A pipe named as the file (`keygate import <(jq …)`) is read as one:
        // it was refused as "cannot be read".
        let piped = try CommandRun(["import", "/dev/stdin", "--database", serve.database.path, "--catalog", Self.catalog],
                                   in: folder, input: good + "\n")
        let rows = piped.output.split(separator: "\n").map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(piped.status == 0 && rows.contains(["already", "present", "1"]), "\(piped.output) \(piped.errors)")
        for (file, refusal) in [("nowhere.jsonl", "nowhere.jsonl: no such file"), (".", ". is a folder; name a file"),
                                ("", "the path is empty; name a file")] {
            let run = try CommandRun(["import", file, "--database", serve.database.path, "--catalog", Self.catalog], in: folder)
            #expect(run.status == 2 && run.errors.contains(refusal), "\(file): \(run.errors)")
        }
        let usage = try CommandRun(["import"], in: folder)
        #expect(usage.status == 2)
        _ = serve.finish()
    }
}
