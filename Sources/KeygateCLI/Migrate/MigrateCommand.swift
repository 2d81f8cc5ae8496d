import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres

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

    @Option(help: ArgumentHelp("A SQLite file or a postgresql:// URL.",
                               discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    func run() throws {
        let database = Database.named(database)
        if let reason = Database.refusal(of: database) { throw failure(reason) }
        let name = Database.displayName(database)
        if let warning = Database.passwordWarning(option: self.database) { StandardError.write("keygate migrate: warning: \(warning)") }
        let postgres = PostgresKeyStorage.isURL(database)
        func schema() throws(KeyStoreError) -> StoreStatus.Schema {
            if !postgres, Database.isMissingFile(database) { return .empty }
            return postgres
                ? try PostgresKeyStorage.status(url: database, within: 0).schema
                : try SQLiteKeyStorage.status(path: database, within: 0).schema
        }
        let before: StoreStatus.Schema
        let after: StoreStatus.Schema
        do {
            before = try schema()
            if case .ahead(let unknown) = before {
                throw failure("\(name) was migrated by a newer keygate (\(unknown.joined(separator: ", "))): this one "
                    + "cannot migrate it; run a keygate at least as new as the one that migrated it")
            }
            if case .current = before {
                // Nothing opened for writing: a user who may only read
                // learns that the schema is this keygate's all the same.
                after = before
            } else {
                if postgres { try PostgresKeyStorage.migrate(url: database) } else { try SQLiteKeyStorage.migrate(path: database) }
                after = try schema()
            }
        } catch let error as KeyStoreError {
            throw failure(StartupFailure.describe(error, database: name))
        }
        guard case .current(let latest) = after else {
            // Another process's keygate, newer than this one, migrated it meanwhile.
            throw failure("\(name) was migrated further meanwhile, by a newer keygate; it is not this one's schema")
        }
        switch before {
        case .empty: print("created Keygate's schema in \(name): \(latest)")
        case .behind(let from, _) where from != latest: print("migrated \(name) from \(from) to \(latest)")
        default: print("\(name) already has this keygate's schema, \(latest): nothing to do")
        }
    }

    private func failure(_ reason: String) -> ExitCode {
        StandardError.write("keygate migrate: \(reason)")
        return ExitCode.operationFailed
    }
}
