import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres

/// What `backup` and `restore` share: the SQLite file they work on, and how
/// they say what a backup holds.
enum DatabaseFile {
    /// The `--database` value (or its default), refused if it names a
    /// PostgreSQL server, whose own tools back it up.
    static func sqlite(_ option: String?, for command: String) throws -> String {
        let database = Database.named(option)
        if let reason = Database.refusal(of: database) {
            StandardError.write("keygate \(command): \(reason)")
            throw ExitCode.operationFailed
        }
        guard !PostgresKeyStorage.isURL(database) else {
            StandardError.write("keygate \(command) works on a SQLite file; on PostgreSQL use pg_dump and "
                + "pg_restore (docs/OPERATIONS.md, \"Backups\")")
            throw ExitCode.operationFailed
        }
        return database
    }

    /// "1 key, 1 organization, 155 kB", "100,000 keys, 5,000 organizations, 107.8 MB".
    static func describe(_ summary: SQLiteBackup.Summary) -> String {
        "\(CatalogSummary.count(summary.keys, "key")), \(CatalogSummary.count(summary.organizations, "organization")), "
            + size(summary.bytes)
    }

    static func size(_ bytes: Int64) -> String {
        switch bytes {
        case ..<1_000: "\(bytes) bytes"
        case ..<1_000_000: "\(bytes / 1_000) kB"
        default: String(format: "%.1f MB", Double(bytes) / 1_000_000)
        }
    }

    static func milliseconds(since start: ContinuousClock.Instant) -> Int64 {
        let elapsed = ContinuousClock.now - start
        return elapsed.components.seconds * 1_000 + elapsed.components.attoseconds / 1_000_000_000_000_000
    }
}
