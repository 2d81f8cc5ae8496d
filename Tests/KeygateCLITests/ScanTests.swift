import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// `keygate scan`, as a security team or a pre-commit hook runs it.
@Suite("keygate scan")
struct ScanTests {
    func keygate(_ arguments: [String], in folder: URL, input: String? = nil) throws -> CommandRun {
        try CommandRun(arguments, in: folder, input: input)
    }

    /// A folder with two live keys, a revoked one, a look-alike and a key
    /// under .git; the database that issued them.
    func leakyFolder() throws -> (folder: URL, secrets: [String], ids: [String], serve: ServeProcess) {
        let serve = try ServeProcess()
        let folder = serve.database.deletingLastPathComponent()
        var secrets: [String] = []
        var ids: [String] = []
        for _ in 0..<3 {
            let created = try serve.proKey(organization: "org_s", rateLimit: 60)
            secrets.append(created["secret"] as! String)
            ids.append((created["key"] as! [String: Any])["id"] as! String)
        }
        _ = try serve.result("keys.revoke", ["organizationId": "org_s", "keyId": ids[2]])
        let source = folder.appending(path: "repo/src")
        try FileManager.default.createDirectory(at: source, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(at: folder.appending(path: "repo/.git"), withIntermediateDirectories: true)
        try "API_KEY = \"\(secrets[0])\"\n".write(to: source.appending(path: "settings.py"), atomically: true, encoding: .utf8)
        try "line\n  curl -H 'Authorization: Bearer \(secrets[1])'\nold: \(secrets[2])\n"
            .write(to: source.appending(path: "notes.md"), atomically: true, encoding: .utf8)
        // A one-character typo: never the character it replaces (a key ending in X would be itself again).
        let typo = secrets[0].hasSuffix("X") ? "Y" : "X"
        try "almost: \(secrets[0].dropLast())\(typo) and x\(secrets[1])\n"
            .write(to: source.appending(path: "lookalike.txt"), atomically: true, encoding: .utf8)
        try "\(secrets[0])\n".write(to: folder.appending(path: "repo/.git/packed"), atomically: true, encoding: .utf8)
        return (folder, secrets, ids, serve)
    }

    @Test func keysInAFolderAreFoundAndOnlyTheirHintsPrinted() throws {
        let (folder, secrets, _, serve) = try leakyFolder()
        let run = try keygate(["scan", "repo"], in: folder)
        #expect(run.status == 1)
        #expect(run.output.contains("repo/src/settings.py:1:12"))
        #expect(run.output.contains("repo/src/notes.md:2:34"))
        #expect(run.output.contains("repo/src/notes.md:3:6"))
        #expect(!run.output.contains("lookalike") && !run.output.contains(".git"))
        #expect(run.errors.contains("3 keys found"))
        for secret in secrets { #expect(!(run.output + run.errors).contains(secret)) }
        #expect(serve.finish() == 0)
    }

    @Test func withTheDatabaseEachKeyHasItsStatusAndRevokeStopsTheLiveOnes() throws {
        let (folder, secrets, ids, serve) = try leakyFolder()
        let database = serve.database.path
        let checked = try keygate(["scan", "repo", "--database", database, "--format", "json"], in: folder)
        #expect(checked.status == 1)
        let found = try JSONSerialization.jsonObject(with: Data(checked.output.utf8)) as! [[String: Any]]
        #expect(found.map { $0["status"] as? String } == ["live", "revoked", "live"])
        #expect(found.map { $0["keyId"] as? String } == [ids[1], ids[2], ids[0]])

        let revoked = try keygate(["scan", "repo", "--database", database, "--revoke"], in: folder)
        #expect(revoked.status == 1)
        #expect(revoked.errors.contains("3 keys found: 0 live, 2 revoked now"))
        let after = try keygate(["scan", "repo", "--database", database], in: folder)
        #expect(after.status == 0)
        let verify = try serve.result("keys.verify", ["key": secrets[0], "capability": "booking.read"])
        #expect(verify["code"] as? String == "revoked")
        let entries = try serve.result("audit.list", ["organizationId": "org_s"])["entries"] as? [[String: Any]] ?? []
        let byScanner = entries.filter { $0["actor"] as? String == "scanner" }
        #expect(byScanner.count == 2)
        #expect((byScanner.first?["details"] as? [String: Any])?["reason"] as? String == "found at repo/src/settings.py:1:12")
        for secret in secrets { #expect(!(checked.output + revoked.output + revoked.errors).contains(secret)) }
        #expect(serve.finish() == 0)
    }

    /// A database that fails during the look-ups (here one the user may
    /// only read, asked to revoke) stops them, and what was looked up is
    /// reported before the error: with --revoke, which keys are still
    /// live. It once printed no table, only "storage_failure: reason=read_only".
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aDatabaseThatFailsStopsTheLookUpsAndWhatWasLookedUpIsReported() throws {
        let (folder, secrets, ids, serve) = try leakyFolder()
        #expect(serve.finish() == 0)
        // Sorted first: a key looked up (revoked already) before the failure.
        try "\(secrets[2])\n".write(to: folder.appending(path: "repo/src/a.txt"), atomically: true, encoding: .utf8)
        let database = serve.database.path
        func asNobody(_ arguments: [String]) throws -> ToolRun {
            try ToolRun(URL(filePath: "/usr/bin/setpriv"),
                        ["--reuid=65534", "--regid=65534", "--clear-groups", ServeProcess.executable.path] + arguments, in: folder)
        }
        let run = try asNobody(["scan", "repo", "--database", database, "--revoke"])
        #expect(run.status == 2)
        let rows = run.output.split(separator: "\n").dropFirst(2).map { $0.split(separator: " ", omittingEmptySubsequences: true) }
        #expect(rows.map { [String($0[0]), String($0[2])] } == [
            ["repo/src/a.txt:1:1", "revoked"], ["repo/src/notes.md:2:34", "live"], ["repo/src/notes.md:3:6", "not"],
            ["repo/src/settings.py:1:12", "not"],
        ], "\(run.output)")
        #expect(run.output.contains(ids[1]) && !run.output.contains(ids[0]), "\(run.output)")
        #expect(run.errors == """
            4 keys found: 1 live, 0 revoked now, 2 not checked
            keygate scan: stopped at repo/src/notes.md:2:34: \(database) is read-only; keygate needs to write to it

            """, "\(run.errors)")

        let json = try asNobody(["scan", "repo", "--database", database, "--revoke", "--format", "json"])
        #expect(json.status == 2)
        let found = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [[String: Any]])
        #expect(found.map { $0["status"] as? String } == ["revoked", "live", "not checked", "not checked"], "\(json.output)")
        for secret in secrets { #expect(!(run.output + run.errors + json.output + json.errors).contains(secret)) }
    }

    /// A file's name is anyone's text: one with an escape sequence, a
    /// newline and a bidi override is printed escaped, never as terminal
    /// control; and --revoke revokes its key and one under a path of more
    /// than 400 bytes (both once failed the whole scan with exit 2, their
    /// keys left live: the reason "found at PLACE" was refused). A name
    /// with a backslash shows it doubled, so a name holding `\n` itself
    /// reads otherwise than one holding a newline.
    @Test func oddAndDeepFileNamesArePrintedEscapedAndTheirKeysRevoked() throws {
        let serve = try ServeProcess()
        let folder = serve.database.deletingLastPathComponent()
        var secrets: [String] = []
        for _ in 0..<3 { secrets.append(try serve.proKey(organization: "org_s", rateLimit: 60)["secret"] as! String) }
        let repo = folder.appending(path: "repo")
        let deep = (0..<8).reduce(repo) { url, _ in url.appending(path: String(repeating: "d", count: 60)) }
        try FileManager.default.createDirectory(at: deep, withIntermediateDirectories: true)
        try "\(secrets[0])\n".write(to: repo.appending(path: "a\u{1B}[2J\nb\u{202E}.txt"), atomically: true, encoding: .utf8)
        try "\(secrets[1])\n".write(to: deep.appending(path: "f.txt"), atomically: true, encoding: .utf8)
        try "\(secrets[2])\n".write(to: repo.appending(path: "a\\nb.txt"), atomically: true, encoding: .utf8)

        let revoked = try keygate(["scan", "repo", "--database", serve.database.path, "--revoke"], in: folder)
        #expect(revoked.status == 1, "\(revoked.errors)")
        #expect(revoked.errors.contains("3 keys found: 0 live, 3 revoked now"), "\(revoked.errors)")
        #expect(revoked.output.contains("repo/a\\u{1B}[2J\\nb\\u{202E}.txt:1:1"), "\(revoked.output)")
        #expect(!revoked.output.unicodeScalars.contains { $0 == "\u{1B}" || $0 == "\u{202E}" })
        #expect(revoked.output.contains("repo/a\\\\nb.txt:1:1"), "\(revoked.output)")
        #expect(revoked.output.split(separator: "\n").count == 5, "a header, its rule and one line a key")
        for secret in secrets {
            let verify = try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])
            #expect(verify["code"] as? String == "revoked")
        }
        let entries = try serve.result("audit.list", ["organizationId": "org_s"])["entries"] as? [[String: Any]] ?? []
        let reasons = entries.compactMap { ($0["details"] as? [String: Any])?["reason"] as? String }.sorted()
        #expect(reasons.count == 3 && reasons.allSatisfy { $0.utf8.count <= 400 }, "\(reasons)")
        #expect(reasons.contains("found at repo/a\\u{1B}[2J\\nb\\u{202E}.txt:1:1"), "\(reasons)")
        #expect(reasons.contains("found at repo/a\\\\nb.txt:1:1"), "\(reasons)")
        #expect(reasons.last?.hasPrefix("found at …") == true && reasons.last?.hasSuffix("/f.txt:1:1") == true)
        #expect(serve.finish() == 0)
    }

    /// A mistyped --database once created an empty database there and
    /// found every key unknown: exit status 0, the leaked keys left live.
    @Test func aDatabaseThatIsNotThereIsRefused() throws {
        let (folder, secrets, _, serve) = try leakyFolder()
        let typo = folder.appending(path: "keygate.sqlit").path
        let run = try keygate(["scan", "repo", "--database", typo, "--revoke"], in: folder)
        #expect(run.status == 2 && run.output.isEmpty)
        #expect(run.errors.contains("keygate scan: there is no database at \(typo); --database names the one keygate serve uses"),
                "\(run.errors)")
        #expect(!FileManager.default.fileExists(atPath: typo))
        let verify = try serve.result("keys.verify", ["key": secrets[0], "capability": "booking.read"])
        #expect(verify["valid"] as? Bool == true)
        #expect(serve.finish() == 0)
    }

    /// A database without Keygate's schema (the product's own, named by
    /// mistake) is refused too, and left as it was: opened, it got
    /// Keygate's tables, and every key was found unknown.
    @Test(arguments: Backend.available)
    func aDatabaseWithoutKeygatesSchemaIsRefusedAndLeftAlone(_ backend: Backend) throws {
        let folder = try ScratchFolder.make("keygate-scan-other")
        let database: String
        switch backend {
        case .sqlite:
            database = folder.appending(path: "app.sqlite").path
            try DatabaseQueue(path: database).write { db in
                try db.execute(sql: "CREATE TABLE booking (id INTEGER PRIMARY KEY)")
            }
        case .postgres, .pooled:
            database = try Backend.freshPostgresSchema()
        }
        let run = try keygate(["scan", "-", "--database", database], in: folder, input: "")
        #expect(run.status == 2 && run.output.isEmpty)
        #expect(run.errors.contains("holds no Keygate database; --database names the one keygate serve uses"),
                "\(run.errors)")
        switch backend {
        case .sqlite:
            let tables = try DatabaseQueue(path: database).read { db in
                try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'")
            }
            #expect(tables == ["booking"])
        case .postgres, .pooled:
            #expect(try PostgresKeyStorage.status(url: database, within: 0).schema == .empty)
        }
    }

    /// A pipeline may hand `keygate scan -` a non-blocking stdin and stdout
    /// (the mode belongs to the pipe, shared with whoever set it): an empty
    /// stdin is waited for, not a failed read, and a full stdout for its
    /// reader, with no sighting lost.
    @Test(.timeLimit(.minutes(1)))
    func aNonBlockingStdinAndStdoutAreWaitedFor() throws {
        signal(SIGPIPE, SIG_IGN)
        let (folder, secrets, _, serve) = try leakyFolder()
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = ["scan", "-", "--format", "json"]
        process.currentDirectoryURL = folder
        let input = Pipe()
        let output = Pipe()
        try NonBlockingPipes.make(input.fileHandleForReading.fileDescriptor, output.fileHandleForWriting.fileDescriptor)
        process.standardInput = input
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Time for a scan that takes the empty stdin for a failed read to stop.
        poll(nil, 0, 200)
        let sightings = 2_000
        let text = String(repeating: "token: \(secrets[0])\n", count: sightings)
        Thread.detachNewThread {
            try? input.fileHandleForWriting.write(contentsOf: Data(text.utf8))
            try? input.fileHandleForWriting.close()
        }
        #expect(NonBlockingPipes.waitUntilFull(output.fileHandleForReading.fileDescriptor) { process.isRunning })
        // Time for a scan that drops what the full pipe refuses to end.
        poll(nil, 0, 200)
        let printed = try output.fileHandleForReading.readToEnd() ?? Data()
        process.waitUntilExit()
        #expect(process.terminationReason == .exit && process.terminationStatus == 1)
        let found = try JSONSerialization.jsonObject(with: printed) as? [[String: Any]]
        #expect(found?.count == sightings)
        #expect(found?.last?["line"] as? Int == sightings)
        #expect(serve.finish() == 0)
    }

    /// A reader that leaves early (`| head`) is not a failure to write:
    /// with SIGPIPE ignored (a parent's choice its children inherit) the
    /// scan meets `EPIPE`, stops writing and ends with the status its
    /// findings give, saying nothing (JSON comes without a summary).
    @Test func aReaderThatLeavesEarlyKeepsTheStatusOfTheFindings() throws {
        let (folder, secrets, _, serve) = try leakyFolder()
        // Far more than a pipe holds, so that writing outlives the reader.
        let input = String(repeating: "token: \(secrets[0])\n", count: 2_000)
        let run = try ToolRun(URL(filePath: "/bin/bash"), [
            "-c", "trap '' PIPE; \"$0\" scan - --format json | head -c 10 >/dev/null; exit ${PIPESTATUS[0]}",
            ServeProcess.executable.path,
        ], in: folder, input: input)
        #expect(run.status == 1)
        #expect(run.errors.isEmpty, "\(run.errors)")
        #expect(serve.finish() == 0)
    }

    @Test func standardInputIsScannedAndErrorsEndWithStatus2() throws {
        let (folder, secrets, _, serve) = try leakyFolder()
        let piped = try keygate(["scan"], in: folder, input: "pasted: \(secrets[0])\n")
        #expect(piped.status == 1)
        #expect(piped.output.contains("-:1:9"))
        // A pipe named as a file (`keygate scan <(git diff)`) is read as one:
        // it was "cannot be read", a leak check that could not run.
        let named = try keygate(["scan", "/dev/stdin"], in: folder, input: "pasted: \(secrets[0])\n")
        #expect(named.status == 1 && named.output.contains("/dev/stdin:1:9"), "\(named.errors)")
        #expect(try keygate(["scan", ""], in: folder).errors.contains("a path is empty"))
        #expect(try keygate(["scan"], in: folder, input: "nothing here\n").status == 0)
        #expect(try keygate(["scan", "no-such-folder"], in: folder).status == 2)
        #expect(try keygate(["scan", "repo", "--revoke"], in: folder).status == 2)
        #expect(try keygate(["scan", "repo", "--format", "xml"], in: folder).status == 2)
        let unreachable = try keygate(["scan", "repo", "--database", "postgresql://keygate:s3cret-word@127.0.0.1:1/k?connect_timeout=2"],
                                      in: folder)
        #expect(unreachable.status == 2)
        #expect(unreachable.errors.contains("postgresql://keygate:***@127.0.0.1:1/k"))
        #expect(!unreachable.errors.contains("s3cret-word"))
        #expect(serve.finish() == 0)
    }
}
