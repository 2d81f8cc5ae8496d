import Foundation

extension PostgresKeyStorage {
    /// Creates an empty schema on the server `url` names and returns a URL
    /// whose connections use it: one schema per test, half a millisecond each.
    package static func makeSchema(on url: String) throws -> String {
        let schema = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try PGConnection(conninfo: url, prepares: false).execute("CREATE SCHEMA \(schema)")
        return url + (url.contains("?") ? "&" : "?") + "options=-csearch_path%3D\(schema)&application_name=\(schema)"
    }

    /// Creates a database on the server `url` reaches and returns the URL
    /// that reaches it through `pooler` (a PgBouncer whose `*` entry maps
    /// every database name to the server's), for tests through a pooler.
    package static func makeDatabase(on url: String, reachedThrough pooler: String) throws -> String {
        let database = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try PGConnection(conninfo: url, prepares: false).execute("CREATE DATABASE \(database)")
        guard var components = URLComponents(string: pooler) else { throw URLError(.badURL) }
        components.path = "/" + database
        return components.string ?? pooler
    }

    /// Cuts every connection made with `url` (by its application name), as
    /// a server restart would; returns how many were cut.
    package static func disconnectAll(url: String) throws -> Int {
        guard let name = url.split(separator: "&").first(where: { $0.hasPrefix("application_name=") })?
            .dropFirst("application_name=".count)
        else { return 0 }
        return try PGConnection(conninfo: url, prepares: false).query("""
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()
            """, [.text(String(name))]).count
    }

    /// Runs SQL on the server (for tests that play an operator or an older
    /// or newer keygate).
    package static func execute(_ sql: String, url: String) throws {
        try PGConnection(conninfo: url, prepares: false).execute(sql)
    }

    /// Brings the database `url` names to schema version `version` and no
    /// further, as the keygate that shipped it left it (for tests of upgrades).
    package static func migrate(url: String, upTo version: Int) throws {
        try PostgresMigrator.migrate(PGConnection(conninfo: url, prepares: false), upTo: version)
    }

    /// Counts a table's rows (for tests that check what a store left behind).
    package static func rows(in table: String, url: String) throws -> Int {
        try integer("SELECT COUNT(*) FROM \(table)", url: url) ?? 0
    }

    /// The integer a query of one row and one column answers, `nil` for
    /// SQL `NULL` (for tests that check what a store left behind).
    package static func integer(_ sql: String, url: String) throws -> Int? {
        try PGConnection(conninfo: url, prepares: false).query(sql).int(0, 0)
    }
}
