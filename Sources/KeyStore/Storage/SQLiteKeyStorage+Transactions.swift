import GRDB

/// Units of work: several commands in one write transaction, each in a
/// savepoint of its own, committed together.
///
/// A key creation is one transaction that writes about sixteen pages to the
/// log, half of them shared with every other creation (the change log, the
/// sequence table, the hot ends of indexes). Commands that arrive together
/// (pipelined writes) can share one commit: each still succeeds or fails on
/// its own (a failed one rolls back its savepoint only), but the pages and
/// the locking are paid once per unit.
///
/// The transaction is passed down explicitly, as GRDB passes `db`: a
/// command gets a ``SQLiteKeyStorage`` bound to the transaction's
/// connection, through which every read sees what the commands before it
/// wrote. Nothing is durable before ``SQLiteKeyStorage/transaction(_:)``
/// returns, and if it throws, nothing of the unit was kept.
extension SQLiteKeyStorage {
    public func transaction<T>(_ body: (any StorageTransaction) -> T) throws(KeyStoreError) -> T? {
        if bound != nil {
            // Already inside a unit (a write group): this one nests in it.
            return try write { _ in body(SQLiteTransaction(storage: self)) }
        }
        var result: T?
        var ran = false
        do {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    ran = true
                    result = body(SQLiteTransaction(storage: bound(to: db)))
                    // A command whose failure made SQLite roll everything back
                    // (a full disk, an I/O error) leaves nothing to commit.
                    guard db.isInsideTransaction else { throw KeyStoreError(.storageFailure, ["reason": "io"]) }
                    return .commit
                }
            }
        } catch {
            if !ran { return nil }
            throw Self.storeError(error)
        }
        return result
    }
}

/// A write transaction of ``SQLiteKeyStorage``, handed to the body of
/// ``SQLiteKeyStorage/transaction(_:)``.
struct SQLiteTransaction: StorageTransaction {
    let storage: SQLiteKeyStorage

    func step<T>(_ command: (any KeygateStorage) throws -> T) throws -> T {
        guard let bound = storage.bound else { preconditionFailure("a transaction's storage is bound") }
        do {
            return try bound.command { try command(storage) }
        } catch let error as DatabaseError {
            throw SQLiteKeyStorage.storeError(error)
        }
    }
}

extension Database {
    /// Runs `body` in a savepoint of the open transaction, as GRDB's
    /// `inSavepoint` does there, but with its statements prepared once per
    /// connection: `inSavepoint` parses `SAVEPOINT` and `RELEASE` again on
    /// every call, four parses for a command and its storage call.
    /// If `body` throws, what it wrote is rolled back and the transaction
    /// goes on, unless SQLite has already rolled all of it back (a full
    /// disk): callers check ``isInsideTransaction`` before the next command.
    func inCommandSavepoint<T>(_ body: () throws -> T) throws -> T {
        try cachedStatement(sql: "SAVEPOINT command").execute()
        let result: T
        do {
            result = try body()
        } catch {
            if isInsideTransaction {
                _ = rollBackToCommandSavepoint()
                try? cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
            }
            throw error
        }
        try cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
        return result
    }

    /// Undoes what was written since the innermost savepoint opened by
    /// ``inCommandSavepoint(_:)``, which stays open; whether it could.
    func rollBackToCommandSavepoint() -> Bool {
        isInsideTransaction && (try? cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT command").execute()) != nil
    }
}

/// The connection of a running transaction. `@unchecked Sendable`: a
/// storage bound to it exists only inside the transaction's body, on the
/// thread GRDB runs it on, and never outlives it.
final class BoundConnection: @unchecked Sendable {
    let connection: Database
    /// Whether a command's savepoint is open with nothing written in it
    /// yet: the store's next write then needs no savepoint of its own.
    private var commandIsUntouched = false

    init(_ connection: Database) {
        self.connection = connection
    }

    /// Runs a command of the unit in a savepoint of its own: its writes are
    /// kept only if it returns.
    func command<T>(_ body: () throws -> T) throws -> T {
        try checkOpen()
        return try connection.inCommandSavepoint {
            commandIsUntouched = true
            defer { commandIsUntouched = false }
            return try body()
        }
    }

    /// Runs one store write inside the running command; a write that
    /// fails partway leaves nothing, even when the command goes on. The
    /// command's first write needs no savepoint of its own: the command's
    /// holds exactly what it does, so rolling back to that one undoes it
    /// (one savepoint fewer per command, docs/PERFORMANCE.md), and the
    /// command is untouched again. Later writes open their own.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try checkOpen()
        guard commandIsUntouched else { return try connection.inCommandSavepoint { try body(connection) } }
        commandIsUntouched = false
        do {
            return try body(connection)
        } catch {
            if connection.rollBackToCommandSavepoint() { commandIsUntouched = true }
            throw error
        }
    }

    /// An earlier command's failure may have rolled the transaction back;
    /// a savepoint now would quietly start a transaction of its own.
    private func checkOpen() throws(KeyStoreError) {
        guard connection.isInsideTransaction else { throw KeyStoreError(.storageFailure, ["reason": "io"]) }
    }
}
