import Foundation
import KeyStorePostgres

/// The storage backends behaviour tests run against: SQLite always;
/// PostgreSQL when `KEYGATE_TEST_POSTGRES` names a server, and under
/// `CI=true` always, so that a CI run without its server fails rather than
/// passes without having tested it.
public enum Backend: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public static let postgresVariable = "KEYGATE_TEST_POSTGRES"

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

    /// Whether PostgreSQL tests run (or must, under CI).
    public static var postgresEnabled: Bool { postgresURL != nil || isCI }

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

    /// A connection URL for a new, empty schema of the test server.
    public static func freshPostgresSchema() throws -> String {
        guard let base = postgresURL else { throw NoServer() }
        return try PostgresKeyStorage.makeSchema(on: base)
    }
}
