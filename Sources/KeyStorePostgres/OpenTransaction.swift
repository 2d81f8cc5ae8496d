/// A transaction left open on a session of its own, holding what its
/// statements locked, as an operator's `psql` session left inside one
/// does (for tests of what keygate does meanwhile), until ``end()``.
package final class OpenTransaction: @unchecked Sendable {
    // @unchecked: the test that opened it ends it; nothing else touches it.
    private let connection: PGConnection

    /// Opens a session on `url`, begins a transaction and runs `sql` in it.
    package init(_ sql: String, url: String) throws {
        connection = try PGConnection(conninfo: PostgresKeyStorage.conninfo(for: url), prepares: false)
        try connection.execute("BEGIN")
        try connection.execute(sql)
    }

    /// The server process of its session, as the server names it.
    package var pid: Int32 { connection.backendPID }

    /// Rolls the transaction back, freeing what it held.
    package func end() throws {
        try connection.execute("ROLLBACK")
    }
}
