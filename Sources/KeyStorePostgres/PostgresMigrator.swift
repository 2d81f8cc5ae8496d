/// Brings a database to this build's schema, once however many hosts start
/// together: all of it in one transaction that first takes an advisory
/// lock, so one host migrates and the others wait, then find nothing left
/// to do. The lock is the transaction's, not the session's (sqlx takes a
/// session's): behind a pooler in transaction mode a session lock would
/// stay with whichever server session the pooler lent, held for good.
enum PostgresMigrator {
    /// The database was migrated by a newer Keygate than this one.
    struct SchemaTooNew: Error, CustomStringConvertible {
        let found: Int
        let known: Int

        var description: String {
            "the database's schema is version \(found), newer than this keygate knows (\(known)); run a keygate at least as new as the one that migrated it"
        }
    }

    static var latest: Int { PostgresSchema.migrations.last?.version ?? 0 }

    /// Applies the migrations after the database's version, up to `target`
    /// (an earlier one only for tests that play an older keygate).
    static func migrate(_ connection: PGConnection, upTo target: Int = latest) throws {
        try connection.inTransaction {
            try connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))")
            try connection.execute("""
                CREATE TABLE IF NOT EXISTS keygate_migration (
                    version INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                )
                """)
            let current = try connection.query("SELECT COALESCE(MAX(version), 0) FROM keygate_migration").int(0, 0) ?? 0
            guard current <= latest else { throw SchemaTooNew(found: current, known: latest) }
            for migration in PostgresSchema.migrations where migration.version > current && migration.version <= target {
                try connection.execute(migration.sql)
                try connection.query("INSERT INTO keygate_migration (version, name) VALUES ($1, $2)",
                                     [.of(migration.version), .text(migration.name)])
            }
        }
    }
}
