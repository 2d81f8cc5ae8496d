import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres

/// `keygate backup`: a consistent copy of a SQLite database, taken while
/// `keygate serve` processes go on using it.
struct BackupCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backup",
        abstract: "Copy a SQLite database while it is in use.",
        discussion: """
            Writes the database and its usage file (<destination>-usage) as one commit left each, \
            checks the copies and names them only once they are whole. Processes using the \
            database go on meanwhile. The backup is a Keygate database itself: keygate serve \
            --database <destination> opens it. It holds keys' digests, never a key. A backup \
            never replaces a file. Exit status: 0 when the backup is written, 2 otherwise. \
            On PostgreSQL, use pg_dump (docs/OPERATIONS.md, "Backups").
            """
    )

    @Argument(help: ArgumentHelp("The backup's file; it must not exist.", valueName: "destination"))
    var destination: String

    @Option(help: ArgumentHelp("The SQLite file to copy.", discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    func run() throws {
        let database = try DatabaseFile.sqlite(self.database, for: "backup")
        let started = ContinuousClock.now
        do {
            let summary = try SQLiteBackup.write(database: database, to: destination)
            StandardOutput.write("backed up \(database) to \(destination): \(DatabaseFile.describe(summary)), checked, "
                + "in \(DatabaseFile.milliseconds(since: started)) ms")
        } catch {
            StandardError.write("keygate backup: \(error)")
            throw ExitCode.operationFailed
        }
    }
}
