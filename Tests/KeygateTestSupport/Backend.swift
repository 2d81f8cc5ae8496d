import Foundation
public import KeyStorePostgres

/// The storage backends behaviour tests run against: SQLite always;
/// PostgreSQL when `KEYGATE_TEST_POSTGRES` names a server, and under
/// `CI=true` always, so that a CI run without its server fails rather than
/// passes without having tested it. The same server through PgBouncer in
/// transaction mode when `KEYGATE_TEST_PGBOUNCER` names one (and under
/// CI), for the tests that run ``withPooler``.
public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres
    /// PostgreSQL through a pooler that lends a server connection per
    /// transaction (the store's `.transaction` pool mode).
    case pooled

    public static let postgresVariable = "KEYGATE_TEST_POSTGRES"
    public static let poolerVariable = "KEYGATE_TEST_PGBOUNCER"

    /// PgBouncer's address in front of the test server, if one is configured.
    public static var poolerURL: String? {
        ProcessInfo.processInfo.environment[poolerVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The server's connection string, if one is configured.
    public static var postgresURL: String? {
        ProcessInfo.processInfo.environment[postgresVariable].flatMap { $0.isEmpty ? nil : $0 }
    }

    public static var isCI: Bool {
        ProcessInfo.processInfo.environment["CI"] == "true"
    }

    /// What tests that run on every backend run on here.
    public static var available: [Backend] {
        postgresURL != nil || isCI ? [.sqlite, .postgres] : [.sqlite]
    }

    /// What the store's behaviour tests run against: ``available``, and
    /// PostgreSQL through PgBouncer too where there is one (always under CI).
    public static var withPooler: [Backend] {
        available + (poolerEnabled ? [.pooled] : [])
    }

    /// Whether PostgreSQL tests run (or must, under CI).
    public static var postgresEnabled: Bool { postgresURL != nil || isCI }

    /// Whether the tests through PgBouncer run (or must, under CI).
    public static var poolerEnabled: Bool { poolerURL != nil || isCI }

    public static let poolerSkipReason =
        "PgBouncer tests skipped: no pooler (set KEYGATE_TEST_PGBOUNCER, or run .ci/run)"

    /// Why PostgreSQL tests are skipped, for the test report.
    public static let skipReason = "PostgreSQL tests skipped: no server (set KEYGATE_TEST_POSTGRES, or run .ci/run)"

    public var description: String { rawValue }
}

extension Backend {
    struct NoServer: Error, CustomStringConvertible {
        var description: String {
            "no PostgreSQL server for the tests: set \(Backend.postgresVariable) (see docs/TESTING.md); .ci/run starts one"
        }
    }

    struct NoPooler: Error, CustomStringConvertible {
        var description: String {
            "no PgBouncer for the tests: set \(Backend.poolerVariable) (see docs/TESTING.md); .ci/run starts one"
        }
    }

    /// A connection URL for a new, empty schema of the test server.
    public static func freshPostgresSchema() throws -> String {
        guard let base = postgresURL else { throw NoServer() }
        return try PostgresKeyStorage.makeSchema(on: base)
    }

    /// A connection URL, through PgBouncer, for a new, empty database of
    /// the test server: a database rather than a schema, as a pooler
    /// passes no `search_path` of the client's to the sessions it lends.
    public static func freshPooledDatabase() throws -> String {
        guard let base = postgresURL else { throw NoServer() }
        guard let pooler = poolerURL else { throw NoPooler() }
        return try PostgresKeyStorage.makeDatabase(on: base, reachedThrough: pooler)
    }

    /// The URL that reaches the database `pooledURL` names directly, not
    /// through PgBouncer (to look at what the server holds).
    public static func directURL(of pooledURL: String) throws -> String {
        guard let base = postgresURL else { throw NoServer() }
        guard var direct = URLComponents(string: base), let pooled = URLComponents(string: pooledURL) else {
            throw URLError(.badURL)
        }
        direct.path = pooled.path
        return direct.string ?? base
    }

    /// A fresh database for the backend: a schema on PostgreSQL, a database
    /// through the pooler; nil on SQLite.
    public func freshPostgresURL() throws -> String? {
        switch self {
        case .sqlite: nil
        case .postgres: try Backend.freshPostgresSchema()
        case .pooled: try Backend.freshPooledDatabase()
        }
    }

    /// How the store connects on this backend.
    public var poolMode: PostgresKeyStorage.PoolMode {
        self == .pooled ? .transaction : .session
    }
}
