import ArgumentParser
import Foundation
import KeyStore

/// `keygate restore`: puts a backup back in place of a SQLite database that
/// no process is using.
struct RestoreCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "restore",
        abstract: "Replace a SQLite database with a backup.",
        discussion: """
            Stop every process using the database first (keygate serve, import, scan, programs \
            embedding Keygate): a restore refuses a database another process has open, and holds \
            it until done. Each of the database's files is replaced in one transaction; if a \
            restore is interrupted, run it again before starting any process. Events continue \
            after the replaced database's newest, so the notifier keeps its cursor. Keys created \
            after the backup are gone, and keys revoked after it are live again: revoke them \
            again. Exit status: 0 when restored, 2 otherwise.
            """
    )

    @Argument(help: ArgumentHelp("The backup (written by keygate backup).", valueName: "backup"))
    var backup: String

    @Option(help: ArgumentHelp("The SQLite file to replace (or create).", discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    func run() throws {
        let database = try DatabaseFile.sqlite(self.database, for: "restore")
        let started = ContinuousClock.now
        do {
            let summary = try SQLiteBackup.restore(from: backup, into: database)
            StandardOutput.write("restored \(database) from \(backup): \(DatabaseFile.describe(summary)); "
                + "events continue after position \(summary.lastEventPosition), "
                + "in \(DatabaseFile.milliseconds(since: started)) ms")
        } catch {
            // A damaged database is what a restore is most often for; it
            // cannot be held, so it has to go first.
            let remedy = error.code == .damaged && error.path == database
                ? "; move it aside with the files beside it (\(database)-wal, -shm, -usage and theirs), then restore"
                : ""
            StandardError.write("keygate restore: \(error)\(remedy)")
            throw ExitCode.operationFailed
        }
    }
}
