import Foundation
import GRDB
@testable import KeyStore
import KeyStorePostgres
@testable import KeygateCLI
import KeygateJSON
import KeygateRPC
import KeygateTestSupport
import Testing

/// `keygate status`, as an operator runs it before, during and after an
/// upgrade: what the database holds, its schema against this keygate's,
/// and whether the processes on it run with the same settings, read while
/// they serve. It never changes the database.
@Suite("keygate status")
struct StatusCommandTests {
    /// A server of `backend` with one Pro key, serving on once it has
    /// recorded its settings; the `--database` value that reaches its database.
    func servedDatabase(_ backend: Backend) throws -> (serve: ServeProcess, database: String) {
        let serve = try ServeProcess(on: backend, arguments: ["--event-sweep-seconds", "1", "--log-level", "debug"])
        _ = try serve.proKey(organization: "org_s", rateLimit: 100)
        #expect(serve.logs("settings recorded"), "\(serve.stderr)")
        return (serve, serve.postgres ?? serve.database.path)
    }

    func status(_ arguments: [String]) throws -> CommandRun {
        try CommandRun(["status"] + arguments, in: try ScratchFolder.make("keygate-status"))
    }

    func object(_ run: CommandRun) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(run.output.utf8)) as? [String: Any], "\(run.output)")
    }

    @Test(arguments: Backend.withPooler) func aDatabaseInUseShowsItsSchemaItsKeysAndTheSettingsItsProcessesRecorded(
        _ backend: Backend
    ) throws {
        let (serve, database) = try servedDatabase(backend)
        let run = try status(["--database", database])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("(this keygate's latest)"), "\(run.output)")
        #expect(run.output.contains("keys       1 in 1 organization\n"), "\(run.output)")
        #expect(run.output.contains("remembered 0 uses, 1 billing event, 0 creations, 0 rotations (for their retries)\n"),
                "\(run.output)")
        let line = try #require(run.output.split(separator: "\n").first { $0.contains(" \(serve.process.processIdentifier) ") },
                                "\(run.output)")
        #expect(line.contains(" \(KeygateVersion.current) "), "\(line)")
        #expect(line.contains(" all "), "\(line)")
        #expect(run.output.contains(#/ idempotency days +audit days +events kept /#), "\(run.output)")
        #expect(line.contains(" 2592000 s "), "\(line)")
        #expect(line.hasSuffix("Plans/plans.xml"), "\(line)")
        #expect(!run.output.contains("earlier keygate"), "\(run.output)")
        #expect(run.output.contains("Every process that recorded its settings in the last 180 s runs with the same ones."))
        // The options that may differ between processes, a line of their own.
        let options = try #require(run.output.split(separator: "\n").last { $0.contains(" \(serve.process.processIdentifier) ") })
        let expected = switch backend {
        case .sqlite: ["1", "s", "100000", "shared"]
        case .postgres: ["1", "s", "100000", "shared", "notified", "local", "session"]
        case .pooled: ["1", "s", "100000", "shared", "polled", "local", "transaction"]
        }
        let cells = options.split(separator: " ").dropFirst(2).map(String.init)
        #expect(Array(cells.prefix(expected.count)) == expected, "\(run.output)")
        // On PostgreSQL, the clock against the server's: this host's own,
        // within a second; then no health warning.
        #expect(cells.dropFirst(expected.count).joined(separator: " ")
            .contains(backend == .sqlite ? #/^none$/# : #/^[+-]?\d{1,3} ms none$/#), "\(run.output)")

        let json = try object(try status(["--database", database, "--format", "json"]))
        #expect((json["schema"] as? [String: Any])?["state"] as? String == "current")
        #expect(json["keys"] as? Int == 1)
        #expect(json["organizations"] as? Int == 1)
        let settings = try #require(json["settings"] as? [[String: Any]])
        #expect(Set(settings.compactMap { $0["name"] as? String })
            == ["catalog", "usage-retention-days", "idempotency-retention-days", "audit-retention-days",
                "event-retention-seconds", "keygate-version", "event-sweep-seconds"],
                "information (a cache size) is not among the values to agree on")
        #expect(settings.allSatisfy { $0["processId"] as? Int == Int(serve.process.processIdentifier) })
        let processes = try #require(json["processes"] as? [[String: Any]])
        #expect(processes.count == 1)
        #expect(processes.first?["processId"] as? Int == Int(serve.process.processIdentifier))
        let recorded = try #require(processes.first?["settings"] as? [String: String])
        #expect(recorded["keygate-version"] == KeygateVersion.current)
        #expect(recorded["usage-retention-days"] == "all")
        #expect(recorded["idempotency-retention-days"] == "all")
        #expect(recorded["audit-retention-days"] == "all")
        #expect(recorded["event-retention-seconds"] == "2592000")
        #expect(recorded["event-sweep-seconds"] == "1")
        #expect(recorded["cache-keys"] == "100000")
        #expect(recorded["rate-limits"] == "shared")
        #expect(recorded["health-warnings"] == "none")
        #expect(recorded["freshness"] == (backend == .sqlite ? nil : backend == .pooled ? "polled" : "notified"))
        #expect((recorded["clock-offset-ms"].flatMap { Int($0) }.map { abs($0) < 1_000 }) == (backend == .sqlite ? nil : true),
                "\(recorded)")
        #expect((json["disagreements"] as? [Any])?.isEmpty == true)
        #expect((json["warnings"] as? [Any])?.isEmpty == true)
        #expect(json["within"] as? Int == 180)
        #expect(serve.finish() == 0)
    }

    /// A monitoring user that may read the database's files but write
    /// neither them nor their folder: what such a user's `keygate status`
    /// needs is a read, and SQLite's log beside the file is read as it is.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aUserWhoMayOnlyReadTheFilesSeesTheProcessesServing() throws {
        let (serve, database) = try servedDatabase(.sqlite)
        let files = try FileManager.default.contentsOfDirectory(atPath: serve.database.deletingLastPathComponent().path)
        #expect(files.contains("keygate.sqlite-wal"), "\(files)")
        let run = try ToolRun(URL(filePath: "/usr/bin/setpriv"), [
            "--reuid=65534", "--regid=65534", "--clear-groups", ServeProcess.executable.path, "status", "--database", database,
        ], in: URL(filePath: "/"))
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains(" \(serve.process.processIdentifier) "), "\(run.output)")
        #expect(serve.finish() == 0)
    }

    @Test(arguments: Backend.available) func settingsTheProcessesDisagreeOnAreNamedAndCheckFailsOnThem(
        _ backend: Backend
    ) throws {
        let (serve, database) = try servedDatabase(backend)
        // Two processes of another version started with a week's usage retention, as each records.
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live"]), kinds: [], capabilities: [])
        let storage = try serve.openStorage(rules: rules)
        for process: Int32 in [4242, 4343] {
            _ = try storage.recordSettings([
                SettingInUse(name: "keygate-version", value: "0.6.0", host: "web-7", processId: process),
                SettingInUse(name: "usage-retention-days", value: "7", host: "web-7", processId: process),
            ], within: 3)
        }
        // And what a process of schema v17 (PostgreSQL 15) records: its values alone.
        try SchemaFixture.execute("""
            INSERT INTO setting_in_use (name, value, source, host, process_id, seen_at)
            VALUES ('event-retention-seconds', '7776000', '', 'web-8', 808, \(StorageCoding.milliseconds(Date())))
            """, on: database)

        let run = try status(["--database", database])
        #expect(run.status == 0, "\(run.errors)")
        for process in [4242, 4343] {
            let line = try Regex("\\nweb-7 +\(process) +\\d+ s ago +0\\.6\\.0 +7\\n")
            #expect(run.output.contains(line), "\(run.output)")
        }
        #expect(run.output.contains("Recorded by processes of an earlier keygate, each value with the last to record it:"),
                "\(run.output)")
        #expect(run.output.contains(#/\nevent-retention-seconds +7776000 +web-8 +808 /#), "\(run.output)")
        // A disagreement lists its values newest first, and the server records
        // its own every second: which of two values leads depends on whether
        // its sweep came after this test's records (SettingsAgreementTests
        // holds the order itself).
        func listed(_ values: String, _ other: String, in line: (String) -> String) -> Bool {
            run.output.contains(line("\(values), \(other)")) || run.output.contains(line("\(other), \(values)"))
        }
        #expect(listed("7", "all") { "- processes keep usage by day for different numbers of days (\($0)): "
            + "none folds usage while one keeps every day\n" }, "\(run.output)")
        #expect(listed("7776000 s", "2592000 s") { "- processes keep events for different times (\($0)): "
            + "each prunes by the longest, 7776000 s\n" }, "\(run.output)")
        #expect(listed("0.6.0", KeygateVersion.current) { "- processes run different versions of keygate (\($0))" },
                "\(run.output)")
        #expect(!run.output.contains("runs with the same ones"))

        let checked = try status(["--database", database, "--check", "--format", "json"])
        #expect(checked.status == 1, "\(checked.errors)")
        let json = try object(checked)
        let disagreements = try #require(json["disagreements"] as? [[String: Any]])
        #expect(disagreements.compactMap { $0["name"] as? String }
            == ["event-retention-seconds", "keygate-version", "usage-retention-days"])
        #expect((disagreements.last?["values"] as? [String])?.sorted() == ["7", "all"])
        let processes = try #require(json["processes"] as? [[String: Any]])
        #expect(processes.compactMap { $0["processId"] as? Int }.sorted()
            == [4242, 4343, Int(serve.process.processIdentifier)].sorted())
        #expect(serve.finish() == 0)
    }

    /// A process that records every 600 s counts for three of its own
    /// intervals, in status as in serve, which says so; one that enforces
    /// rate limits on its own is a warning, whatever the others do.
    @Test(arguments: Backend.available) func aProcessThatSweepsLessOftenCountsLongerAndOneWithItsOwnRateLimitsIsWarnedOf(
        _ backend: Backend
    ) throws {
        let (serve, database) = try servedDatabase(backend)
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live"]), kinds: [], capabilities: [])
        // Recorded 400 s ago: beyond three sweeps of serve's default, within three of its own.
        _ = try serve.openStorage(rules: rules, clock: ClockBehind(by: 400)).recordSettings([
            SettingInUse(name: "event-sweep-seconds", value: "600", host: "web-9", processId: 909),
        ], information: [SettingInUse(name: "cache-keys", value: "5000", host: "web-9", processId: 909)], within: 3)
        _ = try serve.openStorage(rules: rules).recordSettings([
            SettingInUse(name: "event-sweep-seconds", value: "1", host: "web-8", processId: 808),
        ], information: [SettingInUse(name: "rate-limits", value: "own", host: "web-8", processId: 808)], within: 3)
        // A host whose clock is 2.5 s behind the server's.
        _ = try serve.openStorage(rules: rules).recordSettings([
            SettingInUse(name: "event-sweep-seconds", value: "1", host: "web-7", processId: 707),
        ], information: [SettingInUse(name: "clock-offset-ms", value: "-2500", host: "web-7", processId: 707)], within: 3)
        #expect(serve.logs("another process on this database records its settings less often"), "\(serve.stderr)")
        #expect(serve.stderr.contains("lookBackSeconds=1800 otherEventSweepSeconds=600 otherHost=web-9 otherProcess=909"),
                "\(serve.stderr)")

        let run = try status(["--database", database])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains(#/\nweb-9 +909 +6 min ago\n/#), "\(run.output)")
        #expect(run.output.contains(#/\nweb-9 +909 +600 s +5000\n/#), "\(run.output)")
        #expect(run.output.contains("- processes record their settings at different intervals (1 s, 600 s): "
            + "each counts another's for three of that one's intervals; give every process the same --event-sweep-seconds\n"),
                "\(run.output)")
        #expect(run.output.contains("- process 808 on web-8 enforces rate limits on its own"), "\(run.output)")
        #expect(run.output.contains("- process 707 on web-7 runs -2.5 s off the database server's clock: "), "\(run.output)")
        #expect(run.output.contains(#/\nweb-7 +707 +1 s +.*-2\.5 s\n/#), "\(run.output)")

        let checked = try status(["--database", database, "--check", "--format", "json"])
        #expect(checked.status == 1, "\(checked.errors)")
        let json = try object(checked)
        #expect(json["within"] as? Int == 1_800)
        let warnings = try #require(json["warnings"] as? [[String: Any]])
        #expect(warnings.map { [$0["processId"] as? Int, $0["name"] as? String, $0["value"] as? String] as [AnyHashable?] }
            == [[707, "clock-offset-ms", "-2500"], [808, "rate-limits", "own"]])

        // Asked for 180 s, 180 s it is.
        let narrow = try object(try status(["--database", database, "--within", "180", "--format", "json"]))
        #expect(narrow["within"] as? Int == 180)
        let listed = try #require(narrow["processes"] as? [[String: Any]]).compactMap { $0["processId"] as? Int }
        #expect(!listed.contains(909) && listed.contains(808), "\(listed)")
        #expect(serve.finish() == 0)
    }

    /// A process whose usage counts cannot be written warns of it at its
    /// sweeps, and status on any host names it (`--check` 1) until a sweep
    /// after its flushes succeed again.
    @Test(.enabled(if: UnwritableFile.canMake, "this user can make no file unwritable to itself"))
    func aProcessWhoseHealthWarnsIsNamedUntilItIsWellAgain() throws {
        let (first, database) = try servedDatabase(.sqlite)
        let secret = try first.proKey(organization: "org_h", rateLimit: 100)["secret"] as! String
        #expect(first.finish() == 0)
        // Unwritable when it starts: a file it already has open it could write.
        let locked = try UnwritableFile(database + "-usage")
        defer { locked.release() }
        let serve = try ServeProcess(database: first.database, arguments: ["--event-sweep-seconds", "1"])
        #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        #expect(serve.logs("usage flush failed"), "\(serve.stderr)")
        // Bounded: a sweep a second, 50 tries of 100 ms.
        func warnings() throws -> (CommandRun, [[String: Any]]) {
            let run = try status(["--database", database, "--check", "--format", "json"])
            return (run, try object(run)["warnings"] as? [[String: Any]] ?? [])
        }
        var (run, found) = try warnings()
        for _ in 0..<50 where found.isEmpty {
            usleep(100_000)
            (run, found) = try warnings()
        }
        #expect(run.status == 1, "\(run.output)")
        #expect(found.first?["name"] as? String == "health-warnings" && found.first?["value"] as? String == "flush_failing", "\(found)")
        let text = try status(["--database", database])
        #expect(text.output.contains("- process \(serve.process.processIdentifier) on ") && text.output.contains(
            " warned at its last sweep: its usage counts are not being written, and are lost if it stops (flush_failing)"),
                "\(text.output)")

        locked.release()
        for _ in 0..<50 where !found.isEmpty {
            usleep(100_000)
            (run, found) = try warnings()
        }
        #expect(run.status == 0 && found.isEmpty, "\(run.output)")
        #expect(serve.finish() == 0)
    }

    /// A host whose clock is off the server's: serve warns of it, and
    /// status names the process with its offset. The server's clock is the
    /// one shifted here (libfaketime), the same offset seen from the host.
    @Test(.enabled(if: PrivateCluster.binaries != nil && PrivateCluster.fakeTime != nil))
    func aHostWhoseClockIsOffTheServersIsWarnedOf() throws {
        let cluster = try PrivateCluster(clockAhead: 5)
        let serve = try ServeProcess(postgres: cluster.url, arguments: ["--event-sweep-seconds", "1"])
        #expect(serve.logs("this host's clock is off from the database server's"), "\(serve.stderr)")
        #expect(serve.stderr.contains(#/aheadSeconds=-[45]\.\d{3} /#), "\(serve.stderr)")
        // And its health check warns, with the offset in milliseconds.
        let health = try serve.result("health.check")
        #expect(health["status"] as? String == "warn" && health["httpStatus"] as? Int == 200, "\(health)")
        let clock = (health["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "clock" }
        #expect(clock?["code"] as? String == "clock_off" && clock?["observedUnit"] as? String == "ms", "\(health)")
        #expect((clock?["observedValue"] as? Int).map { (-5_999 ... -4_000).contains($0) } == true, "\(health)")
        #expect((clock?["message"] as? String)?.contains("behind the database server's") == true, "\(health)")

        let run = try status(["--database", cluster.url, "--check"])
        #expect(run.status == 1, "\(run.errors)")
        #expect(run.output.contains(try Regex("- process \(serve.process.processIdentifier) on .* runs -[45]\\.\\d s off the "
            + "database server's clock: ")), "\(run.output)")
        #expect(serve.finish() == 0)
    }

    @Test(arguments: Backend.available) func anOlderSchemaIsShownWithWhatThisKeygateWouldApplyAndLeftAsItIs(
        _ backend: Backend
    ) throws {
        let database = try SchemaFixture.older(on: backend, in: "keygate-status")
        let run = try status(["--database", database])
        #expect(run.status == 0, "\(run.errors)")
        let schema = backend == .sqlite
            ? "v16: catalogs in use; this keygate applies 11 more when it opens it or keygate migrate runs: v17: settings in use, "
                + "v18: settings of each process, v19: billing events as sent, v20: usage records as sent, "
                + "v21: rotated-out secrets keep their hint, v22: key creations by idempotency key, "
                + "v23: key rotations by idempotency key, v24: each key's audit trail, v25: how far events were pruned, "
                + "v26: erasures marked in the change log, v27: billing event ids by organization"
            : "14: reservations that outlast a forgotten row; this keygate applies 14 more when it opens it or keygate migrate runs: "
                + "15: settings in use, 16: settings of each process, 17: billing events as sent, 18: usage records as sent, "
                + "19: rotated-out secrets keep their hint, 20: key creations by idempotency key, "
                + "21: key rotations by idempotency key, 22: each key's audit trail, 23: how far events were pruned, "
                + "24: an erasure logs its changes in one step, 25: deletions logged a statement at a time, "
                + "26: erasures marked in the change log, 27: billing event ids by organization, "
                + "28: reservations for many keys in one statement"
        #expect(run.output.contains("schema     \(schema)\n"), "\(run.output)")
        #expect(run.output.contains("This schema records no settings"), "\(run.output)")
        // Only what the schema holds: it remembers no creation or rotation yet.
        #expect(run.output.contains("remembered 0 uses, 0 billing events (for their retries)\n"), "\(run.output)")
        let json = try object(try status(["--database", database, "--format", "json"]))
        #expect((json["remembered"] as? [String: Any]).map { Set($0.keys) } == ["uses", "billingEvents"])
        #expect((json["schema"] as? [String: Any])?["state"] as? String == "behind")
        #expect(json["settings"] is NSNull)
        #expect(json["processes"] is NSNull)

        // Read, not migrated.
        switch backend {
        case .sqlite:
            #expect(try DatabaseQueue(path: database).read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM grdb_migrations") } == 16)
        case .postgres, .pooled:
            #expect(try PostgresKeyStorage.rows(in: "keygate_migration", url: database) == 14)
        }
    }

    /// What `--idempotency-retention-days` keeps (for good by default),
    /// table by table, so an operator sees it grow before choosing one; a
    /// count stops at a million rows, so a status stays quick beside a
    /// table that grew for years.
    @Test(arguments: Backend.withPooler) func theCallsRememberedForTheirRetriesAreCountedUpToAMillion(
        _ backend: Backend
    ) throws {
        let (serve, database) = try servedDatabase(backend)
        let created = try serve.result("keys.create", [
            "organizationId": "org_s", "name": "Zapier", "kind": "owner_integration", "capabilities": ["booking.read"],
            "idempotencyKey": "form-1",
        ])
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        _ = try serve.result("keys.rotate", ["organizationId": "org_s", "keyId": keyId, "idempotencyKey": "rotate-1"])
        for use in ["use-1", "use-2", "use-3"] {
            _ = try serve.result("usage.record", ["organizationId": "org_s", "meter": "bookings", "amount": 1, "idempotencyKey": use])
        }
        // A retry is answered from what is remembered, and adds nothing to it.
        _ = try serve.result("usage.record", ["organizationId": "org_s", "meter": "bookings", "amount": 1, "idempotencyKey": "use-1"])

        let run = try status(["--database", database])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("remembered 3 uses, 1 billing event, 1 creation, 1 rotation (for their retries)\n"),
                "\(run.output)")
        let remembered = try #require(try object(try status(["--database", database, "--format", "json"]))["remembered"]
            as? [String: [String: Any]])
        #expect(remembered.mapValues { $0["rows"] as? Int } == ["uses": 3, "billingEvents": 1, "creations": 1, "rotations": 1])
        #expect(remembered.values.allSatisfy { $0["more"] as? Bool == false }, "\(remembered)")

        // Counted up to a limit (here 2, a million in keygate status), and no further.
        let counted = try backend == .sqlite
            ? SQLiteKeyStorage.status(path: database, within: 60, now: Date(), countingUpTo: 2)
            : PostgresKeyStorage.status(url: database, within: 60, now: Date(), countingUpTo: 2)
        #expect(counted.remembered == [
            RememberedCount(calls: .uses, rows: 2, more: true), RememberedCount(calls: .billingEvents, rows: 1, more: false),
            RememberedCount(calls: .creations, rows: 1, more: false), RememberedCount(calls: .rotations, rows: 1, more: false),
        ])
        // A table that holds exactly the limit is counted whole.
        let atOne = try backend == .sqlite
            ? SQLiteKeyStorage.status(path: database, within: 60, now: Date(), countingUpTo: 1)
            : PostgresKeyStorage.status(url: database, within: 60, now: Date(), countingUpTo: 1)
        #expect(atOne.remembered.map(\.more) == [true, false, false, false], "\(atOne.remembered)")
        // The audit log alike: a plan, two creations and a rotation.
        #expect(counted.auditLog.entries == 2 && counted.auditLog.more, "\(counted.auditLog)")
        #expect(atOne.auditLog.entries == 1 && atOne.auditLog.more, "\(atOne.auditLog)")
        #expect(RememberedCount.countedUpTo == 1_000_000)
        let report = StatusReport(database: "keygate.sqlite", backend: "sqlite", status: counted,
                                  agreement: SettingsAgreement([], processes: []), within: 180, now: Date())
        #expect(report.text.contains("remembered more than 2 uses, 1 billing event, 1 creation, 1 rotation (for their retries)\n"),
                "\(report.text)")
        #expect(report.json["remembered"]?["uses"] == ["rows": 2, "more": true])
        #expect(report.text.contains("audit log  more than 2 entries, the first written "), "\(report.text)")
        #expect(serve.finish() == 0)
    }

    /// The audit log's size, and when its first entry was written: what
    /// an operator weighs before choosing `--audit-retention-days`, and
    /// sees move once it prunes.
    @Test(arguments: Backend.available) func theAuditLogIsCountedFromItsFirstEntry(_ backend: Backend) throws {
        let (serve, database) = try servedDatabase(backend)
        func audit() throws -> [String: Any] {
            try #require(try object(try status(["--database", database, "--format", "json"]))["auditLog"] as? [String: Any])
        }
        let before = try audit()
        #expect(before["entries"] as? Int == 2 && before["more"] as? Bool == false, "a plan and a key: \(before)")
        let first = try #require(before["firstAt"] as? String)
        let firstAt = try #require(RFC3339.date(first), "\(first)")
        #expect(abs(firstAt.timeIntervalSinceNow) < 600, "\(first)")
        let text = try status(["--database", database]).output
        #expect(text.contains("audit log  2 entries, the first written \(first)\n"), "\(text)")

        // The plan's entry pruned: the log begins at the key's.
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live", "test"]), kinds: [], capabilities: [])
        let step = try serve.openStorage(rules: rules).pruneAudit(before: Date().addingTimeInterval(60), after: nil, entries: 1)
        #expect(step.pruned == 1)
        let after = try audit()
        #expect(after["entries"] as? Int == 1, "\(after)")
        #expect((after["firstAt"] as? String).flatMap { RFC3339.date($0) }.map { $0 >= firstAt } == true, "\(after)")
        #expect(serve.finish() == 0)
    }

    @Test(arguments: Backend.available) func aSchemaANewerKeygateMigratedIsSaidToBeNewer(_ backend: Backend) throws {
        let (serve, database) = try servedDatabase(backend)
        #expect(serve.finish() == 0)
        try SchemaFixture.migrateByANewerKeygate(database)
        let run = try status(["--database", database, "--format", "json"])
        #expect(run.status == 0, "\(run.errors)")
        let schema = try #require(try object(run)["schema"] as? [String: Any])
        #expect(schema["state"] as? String == "ahead")
        #expect(schema["unknown"] as? [String] == [backend == .sqlite ? "v99: from the future" : "99: from the future"])
        #expect(try status(["--database", database]).output.contains("migrated by a newer keygate"))
    }

    @Test(arguments: Backend.available) func aDatabaseNoKeygateOpenedYetHasNoSchema(_ backend: Backend) throws {
        let database: String
        switch backend {
        case .sqlite:
            database = try ScratchFolder.make("keygate-status").appending(path: "new.sqlite").path
            #expect(FileManager.default.createFile(atPath: database, contents: Data()))
        case .postgres, .pooled:
            database = try Backend.freshPostgresSchema()
        }
        let run = try status(["--database", database])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("schema     none yet: the first keygate to open the database creates it, or keygate migrate\n"),
                "\(run.output)")
        #expect(run.output.contains("keys       0 in 0 organizations\n"), "\(run.output)")
        #expect(!run.output.contains("remembered"), "\(run.output)")
        #expect((try object(try status(["--database", database, "--format", "json"]))["remembered"] as? [String: Any])?.isEmpty
            == true)
    }

    /// Read while another process creates it, between two of its
    /// migrations (on SQLite each commits on its own), a database is as far
    /// as they have come: it once read as "damaged or not a Keygate
    /// database; restore it from a backup". A table an applied migration
    /// made, missing, is damage still.
    @Test func aDatabaseReadWhileItIsCreatedIsAsFarAsItsMigrationsAndOneMissingATableIsDamaged() throws {
        let folder = try ScratchFolder.make("keygate-status")
        let creating = folder.appending(path: "creating.sqlite").path
        let first = try #require(KeyDatabase.migrator.migrations.first)
        let queue = try DatabaseQueue(path: creating)
        try KeyDatabase.migrator.migrate(queue, upTo: first)
        try queue.close()
        let run = try status(["--database", creating])
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.contains("schema     \(first); this keygate applies "), "\(run.output)")
        #expect(run.output.contains("keys       0 in 0 organizations\n"), "\(run.output)")

        let damaged = folder.appending(path: "damaged.sqlite").path
        let second = KeyDatabase.migrator.migrations[1]
        let other = try DatabaseQueue(path: damaged)
        try KeyDatabase.migrator.migrate(other, upTo: second)
        try other.write { db in try db.execute(sql: "DROP TABLE subscription") }
        try other.close()
        let broken = try status(["--database", damaged])
        #expect(broken.status == 2)
        #expect(broken.errors.contains("is damaged or not a Keygate database (it holds only part of Keygate's schema)"),
                "\(broken.errors)")
    }

    @Test func aMissingOrForeignDatabaseIsAnErrorAndNothingIsCreated() throws {
        let folder = try ScratchFolder.make("keygate-status")
        let missing = folder.appending(path: "missing.sqlite").path
        let run = try status(["--database", missing])
        #expect(run.status == 2)
        #expect(run.errors.contains("keygate status: there is no database at \(missing)"), "\(run.errors)")
        #expect(!FileManager.default.fileExists(atPath: missing))

        let notes = folder.appending(path: "notes.txt").path
        #expect(FileManager.default.createFile(atPath: notes, contents: Data(String(repeating: "not a database\n", count: 100).utf8)))
        let foreign = try status(["--database", notes])
        #expect(foreign.status == 2)
        #expect(foreign.errors.contains("is damaged or not a Keygate database"), "\(foreign.errors)")

        let usage = try status(["--within", "0"])
        #expect(usage.status == 2)
        #expect(usage.errors.contains("--within must be at least 1"), "\(usage.errors)")
    }
}

/// The system's clock, `seconds` behind: what a process that recorded that
/// long ago wrote.
struct ClockBehind: WallClock {
    let seconds: TimeInterval

    init(by seconds: TimeInterval) {
        self.seconds = seconds
    }

    func now() -> Date {
        Date().addingTimeInterval(-seconds)
    }
}
