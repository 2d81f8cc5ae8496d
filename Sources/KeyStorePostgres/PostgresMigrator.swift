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

        /// A migration waited ``lockTimeout`` for a table another session
        /// holds (`holders`, as ``holders(_:)`` names them); nothing was
        /// migrated.
        static func locked(migration: String, holders: [String]) -> Refusal {
            let seconds = lockTimeout.components.seconds
            let who = holders.isEmpty ? "another session" : holders.joined(separator: "; ")
            return Refusal(description: "migration \(migration) waited \(seconds) s for a table held by \(who); "
                + "nothing was migrated: end that transaction "
                + "(or the session: SELECT pg_terminate_backend(pid)), then run keygate migrate, or start keygate, again")
        }
    }

    static var latest: Int { PostgresSchema.migrations.last?.version ?? 0 }

    /// How long a migration waits for a table another session holds. A
    /// migration that alters a table waits for every transaction that has
    /// read it to end, and while it waits, every other session's query of
    /// that table waits behind it: one `psql` session left open inside a
    /// transaction would stop every keygate process's reads and writes
    /// for as long as it stayed open. Bounded, they wait this long at most,
    /// and the migration gives up, whole, saying who held the table.
    static let lockTimeout = PostgresKeyStorage.lockTimeout

    /// Applies the migrations after the database's version, up to `target`
    /// (an earlier one only for tests that play an older keygate).
    ///
    /// - Returns: the database's version before, under the lock (0: none).
    @discardableResult
    static func migrate(_ connection: PGConnection, upTo target: Int = latest) throws -> Int {
        // What a lock wait held up: reading the schema's version, or a migration.
        var applying = "to this keygate's schema"
        do {
            return try connection.inTransaction {
                // Hosts starting together wait here, unbounded, while the
                // first migrates; the statements after it wait no longer
                // than ``lockTimeout`` for a lock.
                try connection.query("SELECT pg_advisory_xact_lock(\(PostgresSchema.migrationLock))")
                connection.limitLockWaits(to: lockTimeout)
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
                        applying = "\(migration.version): \(migration.name)"
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
        } catch let error as PGError where error.sqlState == PGError.lockNotAvailable {
            // Rolled back; whoever held the table most likely still does.
            throw Refusal.locked(migration: applying, holders: (try? holders(connection)) ?? [])
        }
    }

    /// The sessions holding locks on the tables of the schema in use, the
    /// oldest transaction first, as the server lets this user see them
    /// ("pid 4242 (user alice, psql, idle in transaction for 184 s) on
    /// api_key"); another role's session shows its pid and tables only
    /// where this user may not read its activity.
    private static func holders(_ connection: PGConnection) throws -> [String] {
        let rows = try connection.query("""
            SELECT l.pid, COALESCE(a.usename, ''), COALESCE(a.application_name, ''), COALESCE(a.state, ''),
                COALESCE(EXTRACT(EPOCH FROM now() - a.xact_start)::bigint, -1),
                string_agg(DISTINCT c.relname, ', ' ORDER BY c.relname)
            FROM pg_locks l
            JOIN pg_class c ON c.oid = l.relation AND c.relkind = 'r'
            LEFT JOIN pg_stat_activity a ON a.pid = l.pid
            WHERE l.granted AND l.pid <> pg_backend_pid()
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = current_schema())
            GROUP BY l.pid, a.usename, a.application_name, a.state, a.xact_start
            ORDER BY a.xact_start NULLS LAST
            LIMIT 5
            """)
        return (0..<rows.count).map { row in
            let seconds = rows.int(row, 4) ?? -1
            let facts = [
                rows.string(row, 1).flatMap { $0.isEmpty ? nil : "user \($0)" },
                rows.string(row, 2).flatMap { $0.isEmpty ? nil : $0 },
                rows.string(row, 3).flatMap { $0.isEmpty ? nil : seconds >= 0 ? "\($0) for \(seconds) s" : $0 },
            ].compactMap { $0 }
            let pid = rows.string(row, 0) ?? "?"
            return "pid \(pid)\(facts.isEmpty ? "" : " (\(facts.joined(separator: ", ")))") on \(rows.string(row, 5) ?? "")"
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
