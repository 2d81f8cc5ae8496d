import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres
import KeygateJSON

/// `keygate status`: what a database holds, its schema against this
/// keygate's, and the settings the processes on it run with, read without
/// changing anything.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show a database's schema and the settings the processes on it run with.",
        discussion: """
            Reads, never writes: nothing is migrated or created, so it is safe beside processes of any \
            version, before and during an upgrade. Each keygate serve records its plan catalog, usage \
            and event retentions and version at every event sweep; status lists each process that \
            recorded within --within seconds with its settings (processes of schema v17, PostgreSQL \
            15, each value with the last to record it), and says which settings the processes \
            disagree on. Exit status: 0; with --check, 1 when they disagree on one; 2 on a usage or \
            I/O error.
            """
    )

    @Option(help: ArgumentHelp("A SQLite file or a postgresql:// URL.",
                               discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    @Option(help: ArgumentHelp(
        "How far back a process's record counts, in seconds.",
        discussion: "Default: 180, three event sweeps of keygate serve's default, as serve itself looks back."))
    var within: Int = 180

    @Flag(help: "Exit with status 1 when the processes disagree on a setting (for a deploy script).")
    var check = false

    @Option(help: "table (for a person) or json (for a pipeline).")
    var format: OutputFormat = .table

    func validate() throws {
        guard within >= 1 else { throw ValidationError("--within must be at least 1") }
    }

    func run() throws {
        let database = Database.named(database)
        let name = Database.displayName(database)
        if let warning = Database.passwordWarning(option: self.database) { StandardError.write("keygate status: warning: \(warning)") }
        let postgres = PostgresKeyStorage.isURL(database)
        let now = Date()
        let status: StoreStatus
        do {
            if postgres {
                status = try PostgresKeyStorage.status(url: database, within: TimeInterval(within), now: now)
            } else {
                guard FileManager.default.fileExists(atPath: database) else {
                    StandardError.write("keygate status: there is no database at \(database)")
                    throw ExitCode.operationFailed
                }
                status = try SQLiteKeyStorage.status(path: database, within: TimeInterval(within), now: now)
            }
        } catch let error as KeyStoreError {
            StandardError.write("keygate status: \(StartupFailure.describe(error, database: name))")
            throw ExitCode.operationFailed
        }
        let agreement = SettingsAgreement(status.settings ?? [])
        let report = StatusReport(database: name, backend: postgres ? "postgresql" : "sqlite", status: status,
                                  agreement: agreement, within: within, now: now)
        print(format == .json ? report.json.text : report.text, terminator: format == .json ? "\n" : "")
        if check, !agreement.disagreements.isEmpty { throw ExitCode(1) }
    }
}
