import GRDB

extension SQLiteKeyStorage {
    /// Brings the database file at `path` to this build's schema, creating
    /// it if there is none, and closes it: what the first process to open
    /// it would do, as a step of its own (a deploy's, before the processes
    /// of a new version start). Processes serving on the file meanwhile
    /// wait for each migration's transaction, as they would for a process
    /// starting.
    ///
    /// - Throws: ``KeyStoreError/Code/storageFailure`` as
    ///   ``init(path:rules:clock:)`` reports it, including a schema a newer
    ///   Keygate migrated.
    public static func migrate(path: String) throws(KeyStoreError) {
        do {
            let pool = try KeyDatabase.open(path: path)
            // The migrations' pages copied into the file itself (as far as
            // readers allow, without waiting for them): the log is kept
            // when the last connection closes (KeyDatabase.keepLog), and
            // a file just migrated should not be its log's first page alone.
            _ = try pool.writeWithoutTransaction { db in try db.checkpoint(.passive) }
            try pool.close()
        } catch {
            throw StorageCoding.failure(error, detailing: nil)
        }
    }
}
