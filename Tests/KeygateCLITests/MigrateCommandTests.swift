import Foundation
import GRDB
@testable import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// `keygate migrate`, as a deploy step runs it before the processes of a
/// new version start: the schema brought to this keygate's, once, and
/// nothing else done (no process recorded, no key touched).
@Suite("keygate migrate")
struct MigrateCommandTests {
    func migrate(_ arguments: [String], environment: [String: String] = [:]) throws -> ToolRun {
        try ToolRun(ServeProcess.executable, ["migrate"] + arguments, in: try ScratchFolder.make("keygate-migrate"),
                    environment: environment)
    }

    /// The schema as this keygate's own status reads it.
    func schema(_ database: String) throws -> StoreStatus {
        PostgresKeyStorage.isURL(database)
            ? try PostgresKeyStorage.status(url: database, within: 3_600)
            : try SQLiteKeyStorage.status(path: database, within: 3_600)
    }

    func latest(_ database: String) throws -> String {
        guard case .current(let latest) = try schema(database).schema else {
            Issue.record("\(database) is not at this keygate's schema: \(try schema(database).schema)")
            return ""
        }
        return latest
    }

    @Test(arguments: Backend.withPooler) func aNewDatabaseGetsTheSchemaOnceAndNothingElse(_ backend: Backend) throws {
        let database = try backend.freshPostgresURL()
            ?? ScratchFolder.make("keygate-migrate").appending(path: "new.sqlite").path
        let created = try migrate(["--database", database])
        #expect(created.status == 0, "\(created.errors)")
        let latest = try latest(database)
        #expect(created.output == "created Keygate's schema in \(database): \(latest)\n", "\(created.output)")
        #expect(created.errors.isEmpty, "\(created.errors)")
        if backend == .sqlite {
            // The schema is in the file itself, not only in its log: a
            // copy of the file alone (an image baked with it) has it.
            let copy = database + ".copy"
            try FileManager.default.copyItem(atPath: database, toPath: copy)
            #expect(try schema(copy).schema == .current(latest: latest))
        }

        let again = try migrate(["--database", database])
        #expect(again.status == 0, "\(again.errors)")
        #expect(again.output == "\(database) already has this keygate's schema, \(latest): nothing to do\n", "\(again.output)")
        // Unlike a serve that reads no request, it leaves no process for
        // status to list among those serving.
        let status = try schema(database)
        #expect(status.processes?.isEmpty == true && status.settings?.isEmpty == true, "\(status)")
        #expect(status.keys == 0 && status.organizations == 0)

        let serve = try backend == .sqlite
            ? ServeProcess(database: URL(filePath: database))
            : ServeProcess(postgres: database, pooled: backend == .pooled)
        _ = try serve.proKey(organization: "org_m", rateLimit: 60)
        #expect(serve.finish() == 0)
    }

    /// An entry of the operator's `pg_service.conf`, named as `psql` names
    /// it (`service=keygate`): migrate reaches the database it describes,
    /// here a schema of its own, and says so in the URL form keygate reads
    /// keyword/value strings as.
    @Test(.enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
    func aServiceFileEntryNamedAsPsqlNamesItIsMigrated() throws {
        let url = try Backend.freshPostgresSchema()
        let parts = try #require(URLComponents(string: url))
        let options = try #require(parts.queryItems?.first { $0.name == "options" }?.value)
        let services = try ScratchFolder.make("keygate-service").appending(path: "pg_service.conf")
        try """
            [keygate]
            host=\(parts.host ?? "")
            port=\(parts.port ?? 5432)
            user=\(parts.user ?? "")
            dbname=\(parts.path.dropFirst())
            options=\(options)

            """.write(to: services, atomically: true, encoding: .utf8)
        let created = try migrate(["--database", "service=keygate"], environment: ["PGSERVICEFILE": services.path])
        #expect(created.status == 0, "\(created.errors)")
        #expect(created.output == "created Keygate's schema in postgresql://?service=keygate: \(try latest(url))\n",
                "\(created.output)")
    }

    /// A deploy step run by a user who may read the file but not write it
    /// or its folder: with nothing to migrate there is nothing to write.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aUserWhoMayOnlyReadACurrentDatabaseIsToldItIsCurrent() throws {
        let database = try ScratchFolder.make("keygate-migrate").appending(path: "current.sqlite").path
        #expect(try migrate(["--database", database]).status == 0)
        func asNobody() throws -> ToolRun {
            try ToolRun(URL(filePath: "/usr/bin/setpriv"), [
                "--reuid=65534", "--regid=65534", "--clear-groups", ServeProcess.executable.path, "migrate", "--database", database,
            ], in: URL(filePath: "/"))
        }
        let current = try asNobody()
        #expect(current.status == 0, "\(current.errors)")
        #expect(current.output.hasSuffix(": nothing to do\n"), "\(current.output)")

        // One it would have to migrate it cannot.
        try DatabaseQueue(path: database).write { db in
            try db.execute(sql: "DELETE FROM grdb_migrations WHERE identifier = ?", arguments: [KeyDatabase.migrator.migrations.last])
        }
        let behind = try asNobody()
        #expect(behind.status == 2)
        #expect(behind.errors == "keygate migrate: \(database) is read-only; keygate needs to write to it\n", "\(behind.errors)")

        // A new file in that folder: SQLite said only "unable to open database file".
        let folder = URL(filePath: database).deletingLastPathComponent().path
        let new = try ToolRun(URL(filePath: "/usr/bin/setpriv"), [
            "--reuid=65534", "--regid=65534", "--clear-groups", ServeProcess.executable.path, "migrate", "--database",
            folder + "/new.sqlite",
        ], in: URL(filePath: "/"))
        #expect(new.status == 2)
        #expect(new.errors == "keygate migrate: \(folder)/new.sqlite cannot be created: its folder \(folder) cannot be written "
            + "(Permission denied)\n", "\(new.errors)")
    }

    @Test(arguments: Backend.available) func anOlderSchemaIsBroughtToThisKeygatesAndItsKeysKept(_ backend: Backend) throws {
        let database = try SchemaFixture.older(on: backend, in: "keygate-migrate")
        try SchemaFixture.execute("""
            INSERT INTO subscription (organization_id, plan, status, last_event_at, updated_at)
            VALUES ('org_old', 'pro', 'active', 0, 0)
            """, on: database)
        guard case .behind(let from, _) = try schema(database).schema else {
            Issue.record("not an older schema")
            return
        }
        let run = try migrate(["--database", database])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output == "migrated \(database) from \(from) to \(try latest(database))\n", "\(run.output)")
        #expect(try schema(database).organizations == 1)
    }

    /// `--format json` for a deploy pipeline: one object saying what the
    /// command found and where it left the schema, for a new database, an
    /// older one and a current one; a failure stays on stderr with status 2.
    @Test(arguments: Backend.available) func aPipelineReadsWhatMigrateDidAsJSON(_ backend: Backend) throws {
        func json(_ database: String) throws -> [String: Any] {
            let run = try migrate(["--database", database, "--format", "json"])
            #expect(run.status == 0 && run.errors.isEmpty, "\(run.errors)")
            #expect(run.output.hasSuffix("}\n") && run.output.filter { $0 == "\n" }.count == 1, "\(run.output)")
            return try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], "\(run.output)")
        }
        let backendName = backend == .sqlite ? "sqlite" : "postgresql"
        let new = try backend.freshPostgresURL() ?? ScratchFolder.make("keygate-migrate").appending(path: "new.sqlite").path
        let created = try json(new)
        let latest = try latest(new)
        #expect(created["outcome"] as? String == "created" && created["from"] is NSNull && created["schema"] as? String == latest)
        #expect(created["database"] as? String == new && created["backend"] as? String == backendName)
        let current = try json(new)
        #expect(current["outcome"] as? String == "current" && current["from"] as? String == latest)

        let old = try SchemaFixture.older(on: backend, in: "keygate-migrate")
        guard case .behind(let from, _) = try schema(old).schema else {
            Issue.record("not an older schema")
            return
        }
        let migrated = try json(old)
        #expect(migrated["outcome"] as? String == "migrated" && migrated["from"] as? String == from)
        #expect(migrated["schema"] as? String == latest)

        let missing = try ScratchFolder.make("keygate-migrate").appending(path: "gone/keygate.sqlite").path
        let failed = try migrate(["--database", missing, "--format", "json"])
        #expect(failed.status == 2 && failed.output.isEmpty && failed.errors.hasPrefix("keygate migrate: "), "\(failed.errors)")
    }

    @Test(arguments: Backend.available) func aNewerKeygatesSchemaIsRefusedAndLeftAsItIs(_ backend: Backend) throws {
        let database = try backend.freshPostgresURL()
            ?? ScratchFolder.make("keygate-migrate").appending(path: "newer.sqlite").path
        #expect(try migrate(["--database", database]).status == 0)
        try SchemaFixture.migrateByANewerKeygate(database)
        let run = try migrate(["--database", database])
        #expect(run.status == 2)
        let future = backend == .sqlite ? "v99: from the future" : "99: from the future"
        let newer = backend == .sqlite
            ? "has migrations newer than this keygate knows (v99: from the future; it knows up to "
            : "is version 99, newer than this keygate knows ("
        #expect(run.errors.hasPrefix("keygate migrate: \(database): the database's schema \(newer)"), "\(run.errors)")
        #expect(run.errors.hasSuffix("; run a keygate at least as new as the one that migrated it\n"), "\(run.errors)")
        #expect(run.output.isEmpty)
        guard case .ahead(let unknown) = try schema(database).schema else {
            Issue.record("the schema changed")
            return
        }
        #expect(unknown == [future])
    }

    /// Several deploy steps (or containers starting) at once on a new
    /// database: each ends 0, saying what it found, and the schema is
    /// created once. On SQLite one found another copying the log after its
    /// migrations and failed, "stayed locked … for longer than 5.0 s", at
    /// once, about one run in three.
    @Test(arguments: Backend.available) func migrationsStartedTogetherAllSucceed(_ backend: Backend) throws {
        // Three new databases, eight processes each: the race is narrow.
        for _ in 0..<3 { try migrateTogether(on: backend) }
    }

    func migrateTogether(on backend: Backend) throws {
        let folder = try ScratchFolder.make("keygate-migrate")
        let database = try backend.freshPostgresURL() ?? folder.appending(path: "together.sqlite").path
        let runs = (0..<8).map { _ in
            let process = Process()
            process.executableURL = ServeProcess.executable
            process.arguments = ["migrate", "--database", database]
            process.currentDirectoryURL = folder
            process.standardOutput = Pipe()
            process.standardError = Pipe()
            return process
        }
        for process in runs { try process.run() }
        for process in runs {
            process.waitUntilExit()
            let output = (process.standardOutput as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
            let errors = (process.standardError as? Pipe)?.fileHandleForReading.readDataToEndOfFile() ?? Data()
            #expect(process.terminationStatus == 0, "\(String(decoding: errors, as: UTF8.self))")
            #expect(String(decoding: output, as: UTF8.self).hasSuffix("\(try latest(database))\n")
                || String(decoding: output, as: UTF8.self).hasSuffix(": nothing to do\n"), "\(String(decoding: output, as: UTF8.self))")
        }
        #expect(try schema(database).schema == .current(latest: try latest(database)))
    }

    /// `keygate serve` says when it created the schema (a mistyped
    /// `--database` shows so) or migrated it, and nothing when it was current.
    @Test(arguments: Backend.available) func serveSaysWhenItCreatedOrMigratedTheSchema(_ backend: Backend) throws {
        func serve(_ database: String) throws -> String {
            let serve = try backend == .sqlite ? ServeProcess(database: URL(filePath: database)) : ServeProcess(postgres: database)
            #expect(serve.finish() == 0)
            return serve.stderr
        }
        let new = try backend.freshPostgresURL() ?? ScratchFolder.make("keygate-migrate").appending(path: "new.sqlite").path
        let created = try serve(new)
        let latest = try latest(new)
        #expect(created.contains("schema=\(latest) [KeygateCLI] created Keygate's schema in a new database\n"), "\(created)")
        let again = try serve(new)
        #expect(!again.contains("created Keygate's schema") && !again.contains("migrated the database's schema"), "\(again)")

        let old = try SchemaFixture.older(on: backend, in: "keygate-migrate")
        guard case .behind(let from, _) = try schema(old).schema else {
            Issue.record("not an older schema")
            return
        }
        let migrated = try serve(old)
        #expect(migrated.contains("from=\(from) to=\(latest) [KeygateCLI] migrated the database's schema\n"), "\(migrated)")
    }

    @Test func whatCannotBeMigratedIsAnErrorWithStatusTwo() throws {
        let folder = try ScratchFolder.make("keygate-migrate")
        let missing = folder.appending(path: "gone/keygate.sqlite").path
        let run = try migrate(["--database", missing])
        #expect(run.status == 2)
        #expect(run.errors.contains("keygate migrate: \(missing) cannot be created: its folder "), "\(run.errors)")

        let usage = try migrate(["--no-such-option"])
        #expect(usage.status == 2)
        #expect(usage.errors.contains("Unknown option '--no-such-option'"), "\(usage.errors)")
    }
}
