import Foundation
import GRDB
@testable import KeyStore
import KeyStorePostgres
import KeygateTestSupport

/// Databases as other versions of keygate leave them, for the commands
/// that read or bring a schema up (`status`, `migrate`).
enum SchemaFixture {
    /// A new database that an earlier keygate migrated and no later one
    /// opened: SQLite v16, PostgreSQL 14 (a schema, on either PostgreSQL backend).
    static func older(on backend: Backend, in folder: String) throws -> String {
        switch backend {
        case .sqlite:
            let database = try ScratchFolder.make(folder).appending(path: "old.sqlite").path
            let queue = try DatabaseQueue(path: database)
            try KeyDatabase.migrator.migrate(queue, upTo: "v16: catalogs in use")
            try queue.close()
            return database
        case .postgres, .pooled:
            let database = try Backend.freshPostgresSchema()
            try PostgresKeyStorage.migrate(url: database, upTo: 14)
            return database
        }
    }

    /// Records a migration this keygate does not know, as a newer one
    /// would have: "v99: from the future" (SQLite), "99: from the future"
    /// (PostgreSQL).
    static func migrateByANewerKeygate(_ database: String) throws {
        if PostgresKeyStorage.isURL(database) {
            try PostgresKeyStorage.execute(
                "INSERT INTO keygate_migration (version, name) VALUES (99, 'from the future')", url: database)
        } else {
            try DatabaseQueue(path: database).write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
            }
        }
    }

    /// Runs `sql` on the database, whichever store it is.
    static func execute(_ sql: String, on database: String) throws {
        if PostgresKeyStorage.isURL(database) {
            try PostgresKeyStorage.execute(sql, url: database)
        } else {
            try DatabaseQueue(path: database).write { db in try db.execute(sql: sql) }
        }
    }
}
