public import KeyStore

extension PostgresKeyStorage {
    /// Brings the schema of the database `url` names to this build's, as
    /// the first host to connect would, and disconnects: a step of its own
    /// for a deploy, and the one way to migrate for a user that may create
    /// in the schema (its owner) when the processes that serve log in as
    /// one that may only read and write. The same transaction under the
    /// same advisory lock as ``init(url:rules:clock:freshness:rateLimitOutage:poolMode:answerTimeouts:unreachableGrace:)``'s,
    /// so it may run while hosts start; it takes no prepared statement, so
    /// it may run behind a pooler in transaction mode.
    ///
    /// - Returns: the schema found, under the lock, and the one left.
    /// - Throws: ``KeyStoreError/Code/storageFailure`` as the initializer
    ///   reports it, including a schema a newer Keygate migrated or one this
    ///   user may not change.
    public static func migrate(url: String) throws(KeyStoreError) -> SchemaMigration {
        do {
            return try migrate(PGConnection(conninfo: conninfo(for: url), prepares: false))
        } catch {
            throw storeError(error, detail: true)
        }
    }

    /// Refuses a database whose encoding cannot hold Keygate's text, then
    /// migrates it: what every connecting start does first. Its round
    /// trips wait as long as they take: for another host's migration (the
    /// advisory lock), and for an index a large table takes minutes to build.
    static func migrate(_ connection: PGConnection) throws -> SchemaMigration {
        if let refusal = encodingRefusal(connection.serverEncoding) {
            throw KeyStoreError(.storageFailure, ["reason": "other", "detail": refusal])
        }
        return try connection.answering(within: nil) {
            PostgresMigrator.migration(from: try PostgresMigrator.migrate(connection))
        }
    }
}
