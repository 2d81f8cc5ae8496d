import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres
import KeygateJSON

/// `keygate migrate`: brings a database's schema to this keygate's and
/// exits, the step a deploy runs before the processes of a new version
/// start (and the one way to migrate as a PostgreSQL schema's owner when
/// the processes that serve log in as a role that may only read and write).
struct MigrateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring a database's schema to this keygate's, then exit.",
        discussion: """
            What the first keygate serve to open a database does at its start, as a step of its own: \
            a SQLite file is created if there is none; on PostgreSQL every migration due is applied in \
            one transaction under an advisory lock, so it may run while hosts start. Processes serving \
            on the database meanwhile go on (take a backup first: migrations only move forward). \
            keygate status shows what is due without applying it. Exit status: 0 when the schema is \
            this keygate's (migrated, or already so); 2 when it cannot be (a newer keygate's schema, a \
            user that may not change it, a database out of reach) or on a usage error.
            """
    )

    @Option(help: ArgumentHelp("A SQLite file, or PostgreSQL's postgresql://… URL or host=… dbname=… string.",
                               discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    @Option(help: ArgumentHelp("table (a sentence, for a person) or json (for a pipeline).", discussion: """
        json: one object, {database, backend, outcome (created, migrated or current), from (the schema found, \
        null for a new database), schema (where it was left)}. Failures go to stderr either way.
        """))
    var format: OutputFormat = .table

    func run() throws {
        let database = Database.named(database)
        if let reason = Database.refusal(of: database) { throw failure(reason) }
        let name = Database.displayName(database)
        if let warning = Database.passwordWarning(option: self.database) { StandardError.write("keygate migrate: warning: \(warning)") }
        let migration: SchemaMigration
        do {
            migration = PostgresKeyStorage.isURL(database)
                ? try PostgresKeyStorage.migrate(url: database) : try SQLiteKeyStorage.migrate(path: database)
        } catch {
            throw failure(StartupFailure.describe(error, database: name))
        }
        // What the store found when it looked (on PostgreSQL under the
        // migrations' lock): several run at once, each says what it saw.
        // A newer keygate's schema (ahead) was refused by the store.
        let (outcome, from): (Outcome, String?) = switch migration.before {
        case .empty: (.created, nil)
        case .behind(let from, _): (.migrated, from)
        case .current(let latest): (.current, latest)
        case .ahead: (.current, migration.latest)
        }
        switch (format, outcome) {
        case (.json, _):
            StandardOutput.write(JSON.object([
                ("database", .string(name)), ("backend", .string(PostgresKeyStorage.isURL(database) ? "postgresql" : "sqlite")),
                ("outcome", .string(outcome.rawValue)), ("from", from.map(JSON.string) ?? .null),
                ("schema", .string(migration.latest)),
            ]).text)
        case (.table, .created): StandardOutput.write("created Keygate's schema in \(name): \(migration.latest)")
        case (.table, .migrated): StandardOutput.write("migrated \(name) from \(from ?? "") to \(migration.latest)")
        case (.table, .current): StandardOutput.write("\(name) already has this keygate's schema, \(migration.latest): nothing to do")
        }
    }

    /// What the command found, and so did: `--format json`'s `outcome`.
    private enum Outcome: String {
        case created, migrated, current
    }

    private func failure(_ reason: String) -> ExitCode {
        StandardError.write("keygate migrate: \(reason)")
        return ExitCode.operationFailed
    }
}
