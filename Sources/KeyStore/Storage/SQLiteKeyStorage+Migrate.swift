import GRDB

extension SQLiteKeyStorage {
    /// Brings the database file at `path` to this build's schema, creating
    /// it if there is none, and closes it: what the first process to open
    /// it would do, as a step of its own (a deploy's, before the processes
    /// of a new version start). Processes serving on the file, or starting
    /// on it, meanwhile wait for each migration's transaction or find it
    /// done, as they would for a process starting.
    ///
    /// - Returns: the schema found and the one left.
    /// - Throws: ``KeyStoreError/Code/storageFailure`` as
    ///   ``init(path:rules:clock:)`` reports it, including a schema a newer
    ///   Keygate migrated.
    public static func migrate(path: String) throws(KeyStoreError) -> SchemaMigration {
        do {
            let (pool, applied) = try KeyDatabase.openMigrating(path: path)
            let migration = migration(from: applied)
            if migration.changed {
                // The migrations' pages copied into the file itself (as far
                // as readers allow, without waiting for them): the log is
                // kept when the last connection closes (KeyDatabase.keepLog),
                // and a file just migrated should not be its log's first
                // page alone. With nothing applied nothing is written, so a
                // user who may only read learns that the schema is current.
                // Busy means another process is copying the log already.
                do {
                    _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.passive) }
                } catch let error as DatabaseError where [.SQLITE_BUSY, .SQLITE_LOCKED].contains(error.resultCode) {}
            }
            try pool.close()
            return migration
        } catch {
            throw StorageCoding.failure(error, detailing: nil)
        }
    }

    /// What opening a file that had the migrations `applied` found: it is
    /// left with every migration this build knows, since opening returns
    /// only then (a newer Keygate's is refused).
    static func migration(from applied: Set<String>) -> SchemaMigration {
        SchemaMigration(before: applied.isEmpty ? .empty : schema(applied: applied),
                        latest: KeyDatabase.migrator.migrations.last ?? "none")
    }
}
