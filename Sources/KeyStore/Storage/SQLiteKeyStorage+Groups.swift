import GRDB

/// Write groups: several writes in one transaction, each in a savepoint of
/// its own, committed together.
///
/// A key creation is one transaction that writes about sixteen pages to the
/// log, half of them shared with every other creation (the change log, the
/// sequence table, the hot ends of indexes). Requests that arrive together
/// (pipelined writes) can share one commit: each still succeeds or fails on
/// its own (a failed one rolls back its savepoint only), but the pages and
/// the locking are paid once per group.
///
/// Inside a group every read and write of this store, on this thread, goes
/// through the group's connection, so a request sees what the requests
/// before it in the group wrote. The caller must not tell anyone a request
/// succeeded before ``SQLiteKeyStorage/grouping(_:)`` returns: until the
/// commit, nothing of the group is durable, and if it throws, nothing is.
extension SQLiteKeyStorage {
    /// Runs `body` as one write group. Returns `false`, without running
    /// `body`, when the group could not begin (another process holds the
    /// write lock past the busy timeout); throws when it ran but could not
    /// be committed, in which case none of it was kept.
    public func grouping(_ body: () -> Void) throws(KeyStoreError) -> Bool {
        if group != nil {
            body()
            return true
        }
        var ran = false
        do {
            try database.writeWithoutTransaction { db in
                try db.inTransaction(.immediate) {
                    ran = true
                    Self.$currentGroup.withValue(WriteGroup(db, of: database)) { body() }
                    // A request whose failure made SQLite roll everything back
                    // (a full disk, an I/O error) leaves no transaction to commit.
                    guard db.isInsideTransaction else { throw KeyStoreError(.storageFailure, ["reason": "io"]) }
                    return .commit
                }
            }
        } catch {
            if !ran { return false }
            throw Self.storeError(error)
        }
        return true
    }

    /// The group this thread is running on this store's database, if any.
    var group: WriteGroup? {
        guard let group = Self.currentGroup, group.database === database else { return nil }
        return group
    }

    @TaskLocal static var currentGroup: WriteGroup?
}

/// The connection of a running write group. `@unchecked Sendable`: it is
/// only ever bound to the thread that runs the group, inside GRDB's writer
/// queue, and never leaves it.
final class WriteGroup: @unchecked Sendable {
    let connection: Database
    let database: any DatabaseWriter

    init(_ connection: Database, of database: any DatabaseWriter) {
        self.connection = connection
        self.database = database
    }
}
