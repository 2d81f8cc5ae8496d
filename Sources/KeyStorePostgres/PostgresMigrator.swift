import KeyStore

/// Brings a database to this build's schema, once however many hosts start
/// together: all of it in one transaction that first takes an advisory
/// lock, so one host migrates and the others wait, then find nothing left
/// to do. The lock is the transaction's, not the session's (sqlx takes a
/// session's): behind a pooler in transaction mode a session lock would
/// stay with whichever server session the pooler lent, held for good.
enum PostgresMigrator {
    /// Why the schema cannot be brought to this build's, in the words the
    /// store passes on to the operator as its failure's detail.
    struct Refusal: Error, CustomStringConvertible {
        let description: String

        /// The database was migrated by a newer Keygate than this one.
        static func tooNew(found: Int, known: Int) -> Refusal {
            Refusal(description: "the database's schema is version \(found), newer than this keygate knows (\(known)); "
                + "run a keygate at least as new as the one that migrated it")
        }

        /// The schema needs migrations the user keygate connects as may not
        /// apply (`message`, the server's words): a role that may only read
        /// and write, whose database's owner has not yet brought the schema
        /// to this build's version. Nothing found (`found` 0) is also what
        /// a user without USAGE on the schema sees.
        static func notAllowed(found: Int, known: Int, message: String) -> Refusal {
            guard found > 0 else {
                return Refusal(description: "the user keygate connects as sees no Keygate schema and may not create one "
                    + "(\(message)); run keygate migrate as a user that may (the schema's owner), or grant this one USAGE "
                    + "on the schema the owner's keygate created (docs/OPERATIONS.md, \"Privileges\")")
            }
            return Refusal(description: "the database's schema is version \(found) and this keygate needs \(known), but "
                + "the user keygate connects as may not change it (\(message)); run keygate migrate as a user that may "
                + "(the schema's owner), then start this one")
        }
    }

    static var latest: Int { PostgresSchema.migrations.last?.version ?? 0 }

    /// Applies the migrations after the database's version, up to `target`
    /// (an earlier one only for tests that play an older keygate).
    ///
    /// - Returns: the database's version before, under the lock (0: none).
    @discardableResult
    static func migrate(_ connection: PGConnection, upTo target: Int = latest) throws -> Int {
        try connection.inTransaction {
            try connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))")
            // Looked up before it is created: CREATE TABLE IF NOT EXISTS
            // needs the right to create in the schema even where the table
            // is there, and a role that may only read and write could not
            // start on a database its owner had migrated.
            let tracked = try connection.query("SELECT to_regclass('keygate_migration') IS NOT NULL").bool(0, 0) ?? false
            let current = tracked
                ? try connection.query("SELECT COALESCE(MAX(version), 0) FROM keygate_migration").int(0, 0) ?? 0 : 0
            guard current <= latest else { throw Refusal.tooNew(found: current, known: latest) }
            do {
                if !tracked {
                    try connection.execute("""
                        CREATE TABLE keygate_migration (
                            version INTEGER PRIMARY KEY,
                            name TEXT NOT NULL,
                            applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
                        )
                        """)
                }
                for migration in PostgresSchema.migrations where migration.version > current && migration.version <= target {
                    try connection.execute(migration.sql)
                    try connection.query("INSERT INTO keygate_migration (version, name) VALUES ($1, $2)",
                                         [.of(migration.version), .text(migration.name)])
                }
            } catch let error as PGError
                where [PGError.insufficientPrivilege, PGError.invalidSchemaName].contains(error.sqlState) {
                throw Refusal.notAllowed(found: current, known: latest, message: error.message)
            }
            return current
        }
    }

    /// What migrating a database found at `version` (0: none); it left
    /// this build's schema.
    static func migration(from version: Int) -> SchemaMigration {
        SchemaMigration(before: schema(at: version),
                        latest: PostgresSchema.migrations.last.map { "\($0.version): \($0.name)" } ?? "none")
    }

    /// The schema at `version` against this build's, as `keygate status`
    /// names it ("14: reservations that outlast a forgotten row").
    static func schema(at version: Int) -> StoreStatus.Schema {
        let migrations = PostgresSchema.migrations.map { (version: $0.version, label: "\($0.version): \($0.name)") }
        guard let reached = migrations.last(where: { $0.version <= version }) else { return .empty }
        let pending = migrations.filter { $0.version > version }.map(\.label)
        return pending.isEmpty ? .current(latest: reached.label) : .behind(latest: reached.label, pending: pending)
    }
}
