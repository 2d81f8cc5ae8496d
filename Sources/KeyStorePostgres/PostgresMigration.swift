import KeyStore

/// One step of the schema: its SQL, or a rewrite of rows in Swift where
/// the new form is computed by code the store already has (and SQL would
/// be a second copy of it to keep in step).
struct PostgresMigration: Sendable {
    let version: Int
    let name: String
    let sql: String
    let rewrite: (@Sendable (PGConnection) throws -> Void)?

    init(_ version: Int, _ name: String, _ sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
        rewrite = nil
    }

    init(_ version: Int, _ name: String, rewrite: @escaping @Sendable (PGConnection) throws -> Void) {
        self.version = version
        self.name = name
        sql = ""
        self.rewrite = rewrite
    }

    /// Within the migrating transaction, as every step is.
    func apply(on connection: PGConnection) throws {
        if !sql.isEmpty { try connection.execute(sql) }
        try rewrite?(connection)
    }
}
