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
        guard let connection = storage.bound?.connection else { preconditionFailure("a transaction's storage is bound") }
        // An earlier command's failure may have rolled the transaction back;
        // a savepoint now would quietly start a transaction of its own.
        guard connection.isInsideTransaction else { throw KeyStoreError(.storageFailure, ["reason": "io"]) }
        do {
            return try connection.inCommandSavepoint {
                storage.bound?.commandIsUntouched = true
                defer { storage.bound?.commandIsUntouched = false }
                return try command(storage)
            }
        } catch let error as DatabaseError {
            throw SQLiteKeyStorage.storeError(error)
        }
    }
}

extension Database {
    /// Runs `body` in a savepoint of the open transaction, as GRDB's
    /// `inSavepoint` does there, but with its statements prepared once per
    /// connection: `inSavepoint` parses `SAVEPOINT` and `RELEASE` again on
    /// every call, and a command of a unit of work, whose storage call
    /// has a savepoint of its own inside the command's, paid four parses.
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
                try? cachedStatement(sql: "ROLLBACK TRANSACTION TO SAVEPOINT command").execute()
                try? cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
            }
            throw error
        }
        try cachedStatement(sql: "RELEASE SAVEPOINT command").execute()
        return result
    }
}

/// The connection of a running transaction. `@unchecked Sendable`: a
/// storage bound to it exists only inside the transaction's body, on the
/// thread GRDB runs it on, and never outlives it.
final class BoundConnection: @unchecked Sendable {
    let connection: Database
    /// Whether a command's savepoint is open with nothing written in it
    /// yet: the store's next write then needs no savepoint of its own
    /// (``SQLiteKeyStorage/write(_:)``).
    var commandIsUntouched = false

    init(_ connection: Database) {
        self.connection = connection
    }
}
