import Crypto
import Foundation
import GRDB
import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// The `keygate` commands other than `serve`'s protocol, as a person at a
/// terminal sees them.
@Suite("keygate on the command line")
struct CommandLineTests {
    func keygate(_ arguments: String..., environment: [String: String] = [:]) throws -> ToolRun {
        try ToolRun(ServeProcess.executable, arguments, in: ServeProcess.repository, environment: environment)
    }

    @Test func versionIsPrinted() throws {
        let run = try keygate("--version")
        #expect(run.status == 0)
        #expect(run.output.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(run.output)")
    }

    /// Each command's help reads as prose: no backslash of a line
    /// continuation written twice in the source shows through.
    @Test(arguments: ["serve", "catalog", "scan", "import", "backup", "restore", "status", "migrate"])
    func helpReadsAsProse(_ command: String) throws {
        let run = try keygate(command, "--help")
        #expect(run.status == 0)
        #expect(run.output.hasPrefix("OVERVIEW: "), "\(run.output)")
        #expect(!run.output.contains("\\"), "\(run.output)")
    }

    /// Every command that works on a database, pointed at a server out of
    /// reach (port 1 of loopback: nothing listens there), says so with the
    /// URL's password replaced, and ends with its status for an error.
    @Test(arguments: [["status"], ["migrate"], ["import", "-"], ["scan", "-"]])
    func anUnreachableServerIsNamedWithoutItsPassword(_ command: [String]) throws {
        let run = try ToolRun(ServeProcess.executable, command + [
            "--database", "postgresql://keygate:s3cret@127.0.0.1:1/keygate?connect_timeout=2",
        ], in: try ScratchFolder.make("keygate-unreachable"), input: "")
        #expect(run.status == 2)
        #expect(run.errors.contains(
            "keygate \(command[0]): cannot reach the PostgreSQL server at postgresql://keygate:***@127.0.0.1:1/keygate"),
                "\(run.errors)")
        #expect(!run.errors.contains("s3cret") && !run.output.contains("s3cret"), "\(run.errors)")
    }

    /// A server that takes the connection and never answers (a host gone
    /// silent in a failover, a firewall that drops what it does not let
    /// through): a command gives up after the connect timeout (5 s) and
    /// says so, where libpq's default waited for ever. Bounded: `timeout`
    /// kills it after 60 s (a process blocked connecting may not heed SIGTERM).
    @Test func aServerThatNeverAnswersIsGivenUpOnAfterTheConnectTimeout() throws {
        let server = try SilentServer(.silent)
        defer { server.stop() }
        let run = try ToolRun("timeout", ["-s", "KILL", "60", ServeProcess.executable.path, "status", "--database", server.url],
                              in: try ScratchFolder.make("keygate-silent"), input: "")
        #expect(run.status == 2, "\(run.errors)")
        #expect(run.errors.contains("keygate status: cannot reach the PostgreSQL server at \(server.url) (connection to server "
            + "at \"127.0.0.1\", port \(server.port) failed: timeout expired)"), "\(run.errors)")
    }

    /// A database whose files another user owns and this one may not read
    /// (a copy made as root, say) is named with the file that stops it:
    /// SQLite said only "unable to open database file".
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aDatabaseThisUserMayNotReadIsNamedWithTheFile() throws {
        let folder = try ScratchFolder.make("keygate-unreadable")
        let database = folder.appending(path: "keygate.sqlite").path
        #expect(try ToolRun(ServeProcess.executable, ["migrate", "--database", database], in: folder).status == 0)
        #expect(chmod(database, 0o600) == 0)
        for (command, status) in [("status", Int32(2)), ("migrate", 2), ("serve", 1)] {
            let run = try ToolRun(URL(filePath: "/usr/bin/setpriv"), [
                "--reuid=65534", "--regid=65534", "--clear-groups", ServeProcess.executable.path, command, "--database", database,
            ], in: URL(filePath: "/"), input: "")
            #expect(run.status == status, "\(command): \(run.errors)")
            #expect(run.errors.contains("\(database) cannot be read by this user (Permission denied); a database's files "
                + "go together: give this user access to each, or run keygate as the user they belong to"),
                    "\(command): \(run.errors)")
        }
    }

    @Test func anUnknownLogLevelIsRefusedBeforeServing() throws {
        let run = try keygate("serve", "--log-level", "loud")
        #expect(run.status == 64)
        #expect(run.output.isEmpty)
        #expect(run.errors.contains("unknown log level 'loud'; use one of: trace, debug, info"))
        let skew = try keygate("serve", "--event-clock-skew", "100000")
        #expect(skew.status == 64 && skew.errors.contains("event clock skew"))
    }

    /// `--log-format json`: every line on stderr is one JSON object (time,
    /// level, label, source, message, and the entry's metadata under
    /// `metadata`), also when the server cannot start; stdout still carries
    /// replies only. An unknown format is refused before serving.
    @Test func jsonLogsAreOneObjectALine() throws {
        let serve = try ServeProcess(arguments: ["--log-format", "json"])
        #expect(try serve.result("catalog.plans")["defaultPlan"] as? String == "free")
        #expect(serve.finish() == 0)
        let entries = try serve.stderr.split(separator: "\n").map { line in
            try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(line)")
        }
        #expect(entries.map { $0["message"] as? String } == ["serving", "created Keygate's schema in a new database", "stopped"],
                "\(serve.stderr)")
        for entry in entries {
            #expect(Set(entry.keys).isSuperset(of: ["time", "level", "label", "source", "message"]))
            #expect((entry["time"] as? String).flatMap { ISO8601DateFormatter.withFractionalSeconds.date(from: $0) } != nil)
            #expect(entry["level"] as? String == "info" && entry["label"] as? String == "keygate")
        }
        let serving = try #require(entries.first?["metadata"] as? [String: Any])
        #expect(serving["database"] as? String == serve.database.path && serving["plans"] as? String == "3")

        let refused = try keygate("serve", "--catalog", "/nonexistent/plans.xml", environment: ["KEYGATE_LOG_FORMAT": "json"])
        #expect(refused.status == 1 && refused.output.isEmpty)
        let entry = try #require(try JSONSerialization.jsonObject(with: Data(refused.errors.utf8)) as? [String: Any],
                                 "\(refused.errors)")
        #expect(entry["level"] as? String == "critical" && entry["message"] as? String == "cannot start")
        #expect((entry["metadata"] as? [String: Any])?["reason"] as? String == "/nonexistent/plans.xml: no such file")

        let unknown = try keygate("serve", "--log-format", "xml")
        #expect(unknown.status == 64 && unknown.errors.contains("unknown log format 'xml'; use text or json"))
    }

    /// Every `--statistics-seconds`, a server logs what verification did
    /// since the last time: verifications, the key reads the cache could
    /// not spare (and their share), what it holds.
    @Test func verificationStatisticsAreLoggedEveryInterval() throws {
        let serve = try ServeProcess(arguments: ["--statistics-seconds", "1", "--log-format", "json"])
        let secret = try serve.proKey(organization: "org_st", rateLimit: 1000)["secret"] as! String
        for _ in 0..<3 {
            #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        }
        func reports() -> [[String: String]] {
            serve.stderr.split(separator: "\n").compactMap { line in
                guard let entry = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                      entry["message"] as? String == "verification statistics" else { return nil }
                return entry["metadata"] as? [String: String]
            }
        }
        func total(_ field: String) -> Int { reports().compactMap { Int($0[field] ?? "") }.reduce(0, +) }
        let deadline = Date().addingTimeInterval(10)
        while total("verifications") < 3, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        #expect(total("verifications") == 3 && total("keyReads") == 1, "\(serve.stderr)")
        let last = try #require(reports().last)
        #expect(last["cachedKeys"] == "1" && last["cacheCapacity"] == "100000" && last["seconds"] == "1")
        #expect(serve.finish() == 0)

        let refused = try keygate("serve", "--statistics-seconds", "90000")
        #expect(refused.status == 64
            && refused.errors.contains("the statistics interval must be a whole number of seconds from 0 to 86400, not '90000'"))
    }

    @Test func aCacheSizeOutsideItsRangeIsRefusedBeforeServing() throws {
        for size in ["0", "10000001"] {
            let run = try keygate("serve", "--cache-keys", size)
            #expect(run.status == 64)
            #expect(run.output.isEmpty)
            #expect(run.errors.contains("the cache size must be a whole number of keys from 1 to 10000000, not '\(size)'"))
        }
        let fromEnvironment = try keygate("serve", environment: ["KEYGATE_CACHE_KEYS": "many"])
        #expect(fromEnvironment.status == 64)
        #expect(fromEnvironment.errors.contains("the cache size must be a whole number of keys from 1 to 10000000, not 'many'"))
    }

    @Test(arguments: [("usage", "USAGE"), ("idempotency", "IDEMPOTENCY"), ("audit", "AUDIT")])
    func aRetentionOutsideItsRangeIsRefusedBeforeServing(_ retention: String, _ variable: String) throws {
        for days in ["0", "36501", "a year"] {
            let run = try keygate("serve", "--\(retention)-retention-days", days)
            #expect(run.status == 64)
            #expect(run.output.isEmpty)
            // A value that is no number at all, the argument parser refuses itself.
            let expected = Int(days) == nil ? "The value '\(days)' is invalid"
                : "the \(retention) retention must be a whole number of days from 1 to 36500, not '\(days)'"
            #expect(run.errors.contains(expected), "\(run.errors)")
        }
        let fromEnvironment = try keygate("serve", environment: ["KEYGATE_\(variable)_RETENTION_DAYS": "0"])
        #expect(fromEnvironment.status == 64)
        #expect(fromEnvironment.errors.contains("the \(retention) retention must be a whole number of days from 1 to 36500, not '0'"),
                "\(fromEnvironment.errors)")
    }

    /// A database a newer Keygate migrated, as a rollback of a deployment
    /// leaves it: `keygate serve` stops at start, saying what to run,
    /// rather than serve a schema it does not know. On either store.
    @Test(arguments: Backend.available)
    func anOlderKeygateRefusesADatabaseANewerOneMigrated(_ backend: Backend) throws {
        let database: String
        switch backend {
        case .sqlite:
            database = try ScratchFolder.make("keygate-newer").appending(path: "keygate.sqlite").path
            try KeyDatabase.open(path: database).close()
            try DatabaseQueue(path: database).write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
            }
        case .postgres, .pooled:
            database = try Backend.freshPostgresSchema()
            try PostgresKeyStorage.migrate(url: database, upTo: .max)
            try PostgresKeyStorage.execute("INSERT INTO keygate_migration (version, name) VALUES (99, 'from the future')",
                                           url: database)
        }
        let run = try keygate("serve", "--database", database)
        #expect(run.status == 1)
        #expect(run.output.isEmpty)
        #expect(run.errors.contains("newer than this keygate knows"), "\(run.errors)")
        #expect(run.errors.contains("run a keygate at least as new as the one that migrated it"))
    }

    /// Names that are no database file several processes can share are
    /// refused before anything is written, by every command that takes a
    /// SQLite file: SQLite's in-memory names (they once left `:memory:-usage`
    /// and its log in the working folder, and said only that WAL mode could
    /// not be activated), a folder (it got a usage file created beside it,
    /// and SQLite said only that it could not open it, or "disk I/O
    /// error"), a device (as root, `serve` left `/dev/null-usage` and its
    /// log in /dev; `status` called /dev/null a database with no schema yet)
    /// and an empty path (`restore` took it for a temporary database,
    /// "restored" it and left a file named `-usage`).
    @Test(arguments: [
        (":memory:", "an in-memory database cannot be shared between connections; give a file"),
        ("file::memory:?cache=shared", "an in-memory database cannot be shared between connections; give a file"),
        ("data", "it is a folder; name a file"), ("", "the path is empty; name a file"),
        ("/dev/null", "it is not a regular file"),
    ])
    func namesThatAreNoDatabaseFileAreRefusedWithoutLeavingFiles(database: String, reason: String) throws {
        let folder = try ScratchFolder.make("keygate-no-file")
        try FileManager.default.createDirectory(at: folder.appending(path: "data"), withIntermediateDirectories: false)
        let runs: [([String], Int32)] = [
            (["serve", "--database", database], 1), (["import", "-", "--database", database], 2),
            (["status", "--database", database], 2), (["scan", "-", "--database", database], 2),
            (["backup", "copy.sqlite", "--database", database], 2), (["backup", database, "--database", "none.sqlite"], 2),
            (["restore", "none.sqlite", "--database", database], 2), (["restore", database, "--database", "new.sqlite"], 2),
        ]
        for (arguments, status) in runs {
            let run = try ToolRun(ServeProcess.executable, arguments, in: folder, input: "")
            #expect(run.status == status && run.output.isEmpty, "\(arguments): \(run.errors)")
            #expect(run.errors.contains(reason), "\(arguments): \(run.errors)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == ["data"], "\(arguments)")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.appending(path: "data").path) == [])
            let beside = try FileManager.default.contentsOfDirectory(atPath: "/dev").filter { $0.hasPrefix("null-") }
            #expect(beside.isEmpty, "\(arguments) left \(beside) in /dev")
        }
    }

    /// A libpq keyword/value string libpq cannot read, as a mistyped one
    /// for `psql`, was opened as a SQLite file of that name: `serve`
    /// created it and its companions, served from it as if it were the
    /// shared PostgreSQL, and logged the password it held. Other schemes
    /// failed later, in words about a missing folder. Every command refuses
    /// them, before writing anything, without quoting the value.
    @Test(arguments: [
        ("host=db.internal dbname='keygate password=hunter2", "keyword/value string (host=… dbname=…) that PostgreSQL's "
            + "client library cannot read: a keyword it does not know, one without '=', or a quote left open"),
        ("  dbname = keygate usr=kg password=hunter2", "that PostgreSQL's client library cannot read"),
        ("host=db.internal password=hunter2 dbname", "that PostgreSQL's client library cannot read"),
        ("POSTGRESQL://kg:hunter2@db.internal/keygate", "must be written in lower case, postgresql://"),
        ("Postgres://kg:hunter2@db.internal/keygate", "must be written in lower case, postgresql://"),
        ("mysql://kg:hunter2@db.internal/keygate", "the database is a mysql:// URL; keygate works on a SQLite file's path"),
        ("sqlite://hunter2/keygate.sqlite", "the database is a sqlite:// URL; give the SQLite file's path itself"),
    ])
    func connectionStringsKeygateDoesNotSpeakAreRefused(database: String, reason: String) throws {
        let runs: [([String], Int32)] = [
            (["serve", "--database", database], 1), (["import", "-", "--database", database], 2),
            (["status", "--database", database], 2), (["scan", "-", "--database", database], 2),
            (["backup", "copy.sqlite", "--database", database], 2), (["restore", "none.sqlite", "--database", database], 2),
            (["migrate", "--database", database], 2),
        ]
        for (arguments, status) in runs {
            let run = try refusedInAnEmptyFolder(arguments)
            #expect(run.status == status && run.errors.contains(reason), "\(arguments): \(run.errors)")
            #expect(!run.errors.contains("hunter2"), "\(arguments): \(run.errors)")
        }
        let environment = try refusedInAnEmptyFolder(["serve"], environment: ["KEYGATE_DATABASE": database])
        #expect(environment.status == 1 && environment.errors.contains(reason), "\(environment.errors)")
    }

    /// A keyword/value string libpq reads, as `psql` takes it, names
    /// PostgreSQL as its URL does: nothing listens on port 1 here, so
    /// `serve` cannot reach it and says so, its password hidden; `backup`
    /// points to PostgreSQL's own tools. No SQLite file appears.
    @Test func aKeywordValueStringNamesPostgreSQL() throws {
        let database = "host=127.0.0.1 port=1 dbname=keygate password='hunter2 again' connect_timeout=2"
        let serve = try refusedInAnEmptyFolder(["serve", "--database", database])
        #expect(serve.status == 1, "\(serve.errors)")
        #expect(serve.errors.contains("the --database option holds a password"), "\(serve.errors)")
        #expect(serve.errors.contains("cannot reach the PostgreSQL server at "
            + "postgresql://?password=***&connect_timeout=2&dbname=keygate&host=127.0.0.1&port=1 ("), "\(serve.errors)")
        #expect(!serve.errors.contains("hunter2"), "\(serve.errors)")
        let backup = try refusedInAnEmptyFolder(["backup", "copy.sqlite"], environment: ["KEYGATE_DATABASE": database])
        #expect(backup.status == 2 && backup.errors.contains("on PostgreSQL use pg_dump"), "\(backup.errors)")
        #expect(!backup.errors.contains("hunter2"), "\(backup.errors)")
    }

    /// Names that are files: a one-character name once trapped the server
    /// just after it began serving (Foundation's path arithmetic, as it
    /// measured the disk's free space for the health check); a name that
    /// begins like a libpq keyword is reached with its folder, as the
    /// refusal above says.
    @Test(arguments: [("k", "k"), ("./dbname=keygate.sqlite", "dbname=keygate.sqlite")])
    func aDatabaseSoNamedServes(database: String, file: String) throws {
        let folder = try ScratchFolder.make("keygate-named")
        let run = try ToolRun(ServeProcess.executable, ["serve", "--database", database], in: folder,
                              input: #"{"jsonrpc":"2.0","id":1,"method":"health.check"}"# + "\n")
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix(#"{"jsonrpc":"2.0","id":1,"result":"#), "\(run.output)")
        #expect(FileManager.default.fileExists(atPath: folder.appending(path: file).path))
    }

    /// An empty catalog or translations path names nothing: it was read as
    /// the working folder, and refused as a folder that is not a catalog.
    @Test func anEmptyCatalogOrTranslationsPathIsRefusedAsEmpty() throws {
        let catalog = try refusedInAnEmptyFolder(["serve", "--catalog", ""])
        #expect(catalog.status == 1 && catalog.errors.contains("the path is empty; name a catalog file"), "\(catalog.errors)")
        let translations = try refusedInAnEmptyFolder(["serve"], environment: ["KEYGATE_LOCALIZATION": ""])
        #expect(translations.status == 1 && translations.errors.contains("the path is empty; name a folder of translations"),
                "\(translations.errors)")
        let scan = try ToolRun(ServeProcess.executable, ["scan", "--catalog", "", "-"], input: "")
        #expect(scan.status == 2 && scan.errors.contains("the path is empty; name a catalog file"), "\(scan.errors)")
    }

    /// A `keygate` command in an empty folder with these arguments and
    /// environment, refused before it began: nothing may be left behind.
    func refusedInAnEmptyFolder(_ arguments: [String], environment: [String: String] = [:]) throws -> ToolRun {
        let folder = try ScratchFolder.make("keygate-refused")
        let run = try ToolRun(ServeProcess.executable, arguments, in: folder, environment: environment, input: "")
        #expect(run.output.isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [], "\(arguments)")
        return run
    }

    /// Both bounded above as well as below: 10^15 days of events, or
    /// Int.max seconds between sweeps, trapped the server once it was
    /// serving; a retention the environment gave as words was ignored.
    @Test func eventRetentionAndSweepIntervalOutsideTheirRangesAreRefusedBeforeServing() throws {
        for days in ["0", "36501", "1000000000000000"] {
            let run = try refusedInAnEmptyFolder(["serve", "--event-retention-days", days])
            #expect(run.status == 64)
            #expect(run.errors.contains("the event retention must be a whole number of days from 1 to 36500, not '\(days)'"),
                    "\(run.errors)")
        }
        for days in ["a month", " "] {
            let run = try refusedInAnEmptyFolder(["serve"], environment: ["KEYGATE_EVENT_RETENTION_DAYS": days])
            #expect(run.status == 64)
            #expect(run.errors.contains("the event retention must be a whole number of days from 1 to 36500, not '\(days)'"),
                    "\(run.errors)")
        }
        for seconds in ["0", "86401", "9223372036854775807"] {
            let run = try refusedInAnEmptyFolder(["serve", "--event-sweep-seconds", seconds])
            #expect(run.status == 64)
            #expect(run.errors.contains(
                "the event sweep interval must be a whole number of seconds from 1 to 86400, not '\(seconds)'"), "\(run.errors)")
        }
    }

    /// The PostgreSQL options' words are checked on SQLite too: a typo
    /// there was taken silently and found only on the move to PostgreSQL.
    @Test func postgresOptionsAreCheckedOnEveryStore() throws {
        let cases: [([String], [String: String], String)] = [
            (["--freshness", "sometimes"], [:], "--freshness must be notified, polled or strict, not 'sometimes'"),
            ([], ["KEYGATE_RATE_LIMIT_OUTAGE": "ignore"], "--rate-limit-outage must be local or refuse, not 'ignore'"),
            (["--pool-mode", "statement"], [:], "--pool-mode must be session or transaction, not 'statement'"),
            ([], ["KEYGATE_POOL_MODE": "statement"], "--pool-mode must be session or transaction, not 'statement'"),
            (["--pool-mode", "transaction", "--freshness", "notified"], [:], "--freshness notified needs LISTEN"),
            (["--answer-timeout", "0"], [:], "--answer-timeout must be a number of seconds from 0.01 to 30, not '0'"),
            ([], ["KEYGATE_ANSWER_TIMEOUT": "2s"], "--answer-timeout must be a number of seconds from 0.01 to 30, not '2s'"),
            (["--unreachable-grace", "86401"], [:], "--unreachable-grace must be a whole number of seconds from 0 to 86400, not '86401'"),
            ([], ["KEYGATE_UNREACHABLE_GRACE": "1.5"],
             "--unreachable-grace must be a whole number of seconds from 0 to 86400, not '1.5'"),
        ]
        for (arguments, environment, message) in cases {
            let run = try refusedInAnEmptyFolder(["serve"] + arguments, environment: environment)
            #expect(run.status == 64 && run.errors.contains(message), "\(arguments) \(environment): \(run.errors)")
        }
        let scan = try ToolRun(ServeProcess.executable, ["scan", "--pool-mode", "statement", "-"], input: "")
        #expect(scan.status != 0 && scan.errors.contains("--pool-mode must be session or transaction, not 'statement'"),
                "\(scan.errors)")
    }

    /// A default language the translations lack was taken silently, and
    /// every message came in English.
    @Test func anUnknownLanguageIsRefusedNamingTheOnesThereAre() throws {
        for (arguments, environment) in [(["--locale", "fr"], [:]), ([], ["KEYGATE_LOCALE": "fr"])] {
            let run = try refusedInAnEmptyFolder(["serve"] + arguments, environment: environment)
            #expect(run.status == 1, "\(run.errors)")
            #expect(run.errors.contains("unknown language 'fr' for --locale (or KEYGATE_LOCALE); the translations hold en, de, pl"),
                    "\(run.errors)")
        }
        let imported = try refusedInAnEmptyFolder(["import", "-", "--language", "fr"])
        #expect(imported.status == 2)
        #expect(imported.errors.contains("keygate import: unknown language 'fr' for --language; the translations hold en, de, pl"),
                "\(imported.errors)")
        // A region of a language there is, as a request may name it.
        let regional = try ToolRun(ServeProcess.executable, ["serve", "--locale", "de-AT"],
                                   in: try ScratchFolder.make("keygate-language"), input: "")
        #expect(regional.status == 0, "\(regional.errors)")
    }

    /// An actor the audit log cannot take was found on each line of an
    /// import, every key refused with the same invalid_actor: it is
    /// refused once, before the lines.
    @Test func importRefusesAnInvalidActorBeforeTheLines() throws {
        for actor in ["", "\u{202E}", String(repeating: "a", count: 201)] {
            let run = try refusedInAnEmptyFolder(["import", "-", "--actor", actor])
            #expect(run.status == 2 && run.errors.contains("--actor must be 1 to 200 visible characters"), "\(run.errors)")
        }
    }

    @Test func validateCountsInTheRightNumber() throws {
        let run = try keygate("catalog", "validate", "Plans/examples/booking-engine.xml")
        #expect(run.status == 0)
        #expect(run.output.contains("kinds widget, 1 capability,"), "\(run.output)")
        #expect(run.output.contains("2 capabilities"))
        #expect(run.output.contains("Plans/examples/booking-engine.xml: valid; "), "the file checked is named")
        // The digest `keygate serve` logs for the file, to compare hosts by.
        let file = try Data(contentsOf: ServeProcess.repository.appending(path: "Plans/examples/booking-engine.xml"))
        let digest = SHA256.hash(data: file).map { String(format: "%02x", $0) }.joined()
        #expect(run.output.hasSuffix("; digest \(digest.prefix(16))\n"), "\(run.output)")
    }

    /// The shipped catalog by default: a line per plan, those without keys
    /// said so; a broken one: each problem at its line, then how many, and
    /// exit 1; and `catalog schema` prints the schema shipped in Plans/.
    @Test func validateNamesPlansWithoutKeysAndEveryProblemOfABrokenCatalog() throws {
        let shipped = try keygate("catalog", "validate")
        #expect(shipped.status == 0)
        #expect(shipped.output.hasPrefix("free     no API keys; quotas: api.requests 0 / month, keys.active 0, bookings 100 / month\n"),
                "\(shipped.output)")

        let broken = "Tests/PlanCatalogTests/Fixtures/broken/many-problems.xml"
        let refused = try keygate("catalog", "validate", broken)
        #expect(refused.status == 1 && refused.output.isEmpty)
        let lines = refused.errors.split(separator: "\n")
        #expect(lines.count == 6, "\(refused.errors)")
        #expect(lines.first?.hasSuffix("\(broken):2: the default plan 'basic' is not a plan of this catalog") == true,
                "\(refused.errors)")
        #expect(lines.last?.hasSuffix("\(broken): refused, 5 problems") == true, "\(refused.errors)")

        let schema = try keygate("catalog", "schema")
        #expect(schema.status == 0)
        #expect(schema.output == (try String(contentsOf: ServeProcess.repository.appending(path: "Plans/plans.xsd"), encoding: .utf8)))
    }

    @Test func showListsACatalogsRoutesAndWhichPlansReachThem() throws {
        let run = try keygate("catalog", "show", "Plans/examples/link-platform.xml")
        #expect(run.status == 0)
        #expect(run.output.contains("Routes"))
        let route = try #require(run.output.split(separator: "\n").first { $0.contains("POST /api/partners → partnersWrite") })
        #expect(route.hasSuffix("yes") && route.contains("-"))
    }
}

@Suite("keygate outside a checkout")
struct OutsideACheckoutTests {
    /// The catalog and translations come from inside the build, not from
    /// the working directory.
    @Test func serveRunsFromAnyFolderWithTheShippedCatalogAndTranslations() throws {
        let folder = try ScratchFolder.make("keygate-elsewhere")
        let serve = try ServeProcess(database: folder.appending(path: "k.sqlite"), workingDirectory: folder)
        let plans = try serve.result("catalog.plans")
        #expect(plans["defaultPlan"] as? String == "free")
        let reply = try serve.call("keys.create", ["organizationId": "org_1", "name": "n", "kind": "owner_integration",
                                                   "capabilities": ["booking.read"], "locale": "pl"])
        #expect(((reply["error"] as? [String: Any])?["message"] as? String)?.contains("Pro") == true)
        #expect(serve.finish() == 0)
    }

    /// An executable installed without the resource bundles beside it says
    /// what is missing and what to do instead, and stops. (It crashed with
    /// SwiftPM's fatal error, except on the machine that built it, where
    /// it quietly read the build folder.) Told where the catalog and the
    /// translations are, or installed with the bundles, it serves.
    @Test func anExecutableInstalledWithoutItsResourceBundlesSaysWhatIsMissing() throws {
        let folder = try ScratchFolder.make("keygate-installed")
        let installed = folder.appending(path: "keygate")
        try FileManager.default.copyItem(at: ServeProcess.executable, to: installed)
        let database = folder.appending(path: "k.sqlite").path
        let request = #"{"jsonrpc":"2.0","id":1,"method":"catalog.plans"}"# + "\n"
        func keygate(_ arguments: [String], input: String? = nil) throws -> CommandRun {
            try CommandRun(arguments, in: folder, input: input, executable: installed)
        }
        let missing = "the shipped plan catalog is missing: Keygate_PlanCatalog.resources is not beside the executable in "
            + "\(folder.path); install it with the executable"

        let serve = try keygate(["serve", "--database", database], input: request)
        #expect(serve.status == 1 && serve.output.isEmpty)
        #expect(serve.errors.contains("keygate serve cannot start: \(missing), or name a catalog with --catalog or KEYGATE_CATALOG"),
                "\(serve.errors)")
        let scan = try keygate(["scan", folder.path])
        #expect(scan.status == 2 && scan.errors.contains("keygate scan: \(missing)"), "\(scan.errors)")
        let validate = try keygate(["catalog", "validate"])
        #expect(validate.status == 1 && validate.errors.contains("keygate catalog: \(missing)"), "\(validate.errors)")

        let named = try keygate(["serve", "--database", database,
                                 "--catalog", ServeProcess.repository.appending(path: "Plans/plans.xml").path,
                                 "--localization", ServeProcess.repository.appending(path: "Localization").path],
                                input: request)
        #expect(named.status == 0 && named.output.contains(#""defaultPlan":"free""#), "\(named.errors)")

        for bundle in ["Keygate_PlanCatalog.resources", "Keygate_KeygateLocalization.resources"] {
            try FileManager.default.copyItem(at: ServeProcess.executable.deletingLastPathComponent().appending(path: bundle),
                                             to: folder.appending(path: bundle))
        }
        let bundled = try keygate(["serve", "--database", database], input: request)
        #expect(bundled.status == 0 && bundled.output.contains(#""defaultPlan":"free""#), "\(bundled.errors)")
    }
}

extension ISO8601DateFormatter {
    /// RFC 3339 with milliseconds, as Keygate writes times.
    nonisolated(unsafe) static let withFractionalSeconds: ISO8601DateFormatter = {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }()
}
