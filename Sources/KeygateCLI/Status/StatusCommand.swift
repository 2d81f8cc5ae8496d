import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres
import KeygateJSON
import KeygateService

/// `keygate status`: what a database holds, its schema against this
/// keygate's, and the settings the processes on it run with, read without
/// changing anything.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a database's schema and the settings the processes on it run with.",
        discussion: """
            Reads, never writes: nothing is migrated (keygate migrate does that) or created, so it is safe beside processes of any \
            version, before and during an upgrade. It counts the keys, the calls remembered for their retries \
            (uses, billing events, creations and rotations, up to a million of each) and the audit log's entries (as many, and \
            when its first was written). Each keygate serve records its plan catalog, retentions \
            and version at every event sweep; status lists each process that \
            recorded lately with its settings (processes of schema v17, PostgreSQL 15, each value \
            with the last to record it) and the options that may differ between them (sweep \
            interval, cache size, shared rate limits; on PostgreSQL freshness, rate-limit outage, \
            pool mode and the clock against the server's) and what health.check warned of at its \
            last sweep, and says which settings the processes disagree on, which process enforces \
            rate limits on its own, whose clock is off by more than a second and which warned of its \
            health (usage not written, a disk nearly full, changes polled for, …). Exit status: 0; with --check, 1 when they disagree or one of those \
            is found; 2 on a usage or I/O error.
            """
    )

    @Option(help: ArgumentHelp("A SQLite file, or PostgreSQL's postgresql://… URL or host=… dbname=… string.",
                               discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    @Option(help: ArgumentHelp(
        "How far back a process's record counts, in seconds.",
        discussion: """
            Default: as keygate serve itself looks back, 180 s (three event sweeps of its default), \
            and three of a process's own sweeps for one that sweeps less often.
            """))
    var within: Int?

    @Flag(help: ArgumentHelp(
        "Exit with status 1 when the processes disagree on a setting (for a deploy script).",
        discussion: """
            Or when one enforces rate limits on its own, its clock is off the server's by more than a second, \
            or it warned of its health at its last sweep.
            """))
    var check = false

    @Option(help: "table (for a person) or json (for a pipeline).")
    var format: OutputFormat = .table

    func validate() throws {
        if let within, within < 1 { throw ValidationError("--within must be at least 1") }
    }

    func run() throws {
        let database = Database.named(database)
        if let reason = Database.refusal(of: database) {
            StandardError.write("keygate status: \(reason)")
            throw ExitCode.operationFailed
        }
        let name = Database.displayName(database)
        if let warning = Database.passwordWarning(option: self.database) { StandardError.write("keygate status: warning: \(warning)") }
        let postgres = PostgresKeyStorage.isURL(database)
        let now = Date()
        // Without --within, all a store keeps: which of it counts depends
        // on the intervals it holds, as in serve.
        let asked = within.map(TimeInterval.init) ?? SettingInUse.retention
        var status: StoreStatus
        do {
            if postgres {
                status = try PostgresKeyStorage.status(url: database, within: asked, now: now)
            } else {
                guard !Database.isMissingFile(database) else {
                    StandardError.write("keygate status: there is no database at \(database)")
                    throw ExitCode.operationFailed
                }
                status = try SQLiteKeyStorage.status(path: database, within: asked, now: now)
            }
        } catch let error as KeyStoreError {
            StandardError.write("keygate status: \(StartupFailure.describe(error, database: name))")
            throw ExitCode.operationFailed
        }
        let lookBack = within.map(TimeInterval.init) ?? KeygateService.lookBack(
            (status.settings ?? []) + (status.processes ?? []),
            window: TimeInterval(ServeCommand.sweepsCounted * ServeCommand.defaultSweepSeconds),
            sweepInterval: ServeCommand.defaultSweepSeconds, now: now)
        let counts = { (setting: SettingInUse) in now.timeIntervalSince(setting.seenAt) <= lookBack }
        status.settings = status.settings?.filter(counts)
        status.processes = status.processes?.filter(counts)
        let agreement = SettingsAgreement(status.settings ?? [], processes: ProcessRecord.all(in: status.processes ?? []))
        let report = StatusReport(database: name, backend: postgres ? "postgresql" : "sqlite", status: status,
                                  agreement: agreement, within: Int(lookBack), now: now)
        StandardOutput.write(format == .json ? report.json.text : report.text, terminator: format == .json ? "\n" : "")
        if check, !agreement.isSound { throw ExitCode(1) }
    }
}
