import KeyStore

/// A unit of work on PostgreSQL: one transaction, a savepoint per command.
struct PostgresTransaction: StorageTransaction {
    let storage: PostgresKeyStorage

    /// Runs the command in a savepoint of its own: what it wrote is kept
    /// only if it returns.
    func step<T>(_ command: (any KeygateStorage) throws -> T) throws -> T {
        guard let connection = storage.bound, connection.inTransaction else {
            throw KeyStoreError(.storageFailure, ["reason": "io"])
        }
        // The database's errors become the store's; the command's own (a
        // service's refusal) go back as they came.
        do {
            return try connection.inSavepoint("step") { try command(storage) }
        } catch let error as PGError {
            throw PostgresKeyStorage.storeError(error)
        }
    }
}
