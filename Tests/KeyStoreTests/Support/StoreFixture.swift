import Foundation
import GRDB
@testable import KeyStore
import KeyStorePostgres
import KeygateTestSupport

/// A store on an in-memory SQLite database (or a file, where a test needs
/// one), or on a fresh schema of the test PostgreSQL server (a fresh
/// database through PgBouncer), with the
/// default catalog's registry and a clock the test controls.
struct StoreFixture {
    static let rules = KeyRules(
        format: KeyFormat(prefix: "kg", environments: ["live", "test"]),
        kinds: ["owner_integration", "booking_partner"],
        capabilities: ["availability.read", "booking.create", "booking.read", "booking.cancel",
                       "services.read", "staff.read", "webhook.manage", "subscription.read"])

    let clock = ManualClock()
    let backend: Backend
    let storage: any KeygateStorage
    /// The SQLite database (nil on PostgreSQL).
    let sqlite: (any DatabaseWriter)?
    /// The PostgreSQL schema's connection string (nil on SQLite).
    let postgresURL: String?

    /// The SQLite database, for tests of SQLite itself.
    var database: any DatabaseWriter { sqlite! }

    /// A store on `database` (SQLite) or on the schema `postgresURL` names
    /// (PostgreSQL), where a test prepared one, else on a new one.
    init(_ backend: Backend = .sqlite, database: (any DatabaseWriter)? = nil, postgresURL existing: String? = nil) throws {
        self.backend = backend
        switch backend {
        case .sqlite:
            let database = try database ?? KeyDatabase.inMemory()
            sqlite = database
            postgresURL = nil
            storage = SQLiteKeyStorage(database: database, rules: Self.rules, clock: clock)
        case .postgres, .pooled:
            let url = try existing ?? backend.freshPostgresURL()!
            sqlite = nil
            postgresURL = url
            storage = try PostgresKeyStorage(url: url, rules: Self.rules, clock: clock, freshness: .strict,
                                             poolMode: backend.poolMode)
        }
    }

    func newKey(
        organization: String = "org_a", name: String = "Zapier", kind: String = "owner_integration",
        capabilities: [String] = ["booking.read"], environment: String = "live", rateLimit: Int = 60,
        origins: [String] = [], expiresIn: TimeInterval? = nil
    ) -> NewKey {
        NewKey(
            organizationId: organization, name: name, kind: kind, capabilities: capabilities,
            environment: environment, rateLimit: rateLimit, allowedOrigins: origins,
            expiresAt: expiresIn.map { clock.now().addingTimeInterval($0) }, actor: "user_1")
    }

    func create(_ key: NewKey? = nil) throws -> IssuedKey {
        try storage.create(key ?? newKey())
    }

    /// The key a secret finds, or nil when it finds none.
    func found(_ secret: RawKey) throws -> KeyRecord? {
        if case .found(let match) = try storage.find(secret: secret.unredacted) { return match.key }
        return nil
    }

    /// Each process's recorded settings (what `keygate status` lists), whichever the database.
    func processSettings() throws -> [SettingInUse] {
        switch backend {
        case .sqlite:
            return try database.read { db in try SQLiteKeyStorage.settings(since: .distantPast, in: .processes, db) }
        case .postgres, .pooled:
            return try PostgresKeyStorage.status(url: postgresURL!, within: SettingInUse.retention, now: clock.now())
                .processes ?? []
        }
    }

    /// Runs SQL on the database, whichever it is: what a test does that no
    /// process of this version would.
    func execute(_ sql: String) throws {
        switch backend {
        case .sqlite:
            try database.write { db in try db.execute(sql: sql) }
        case .postgres, .pooled:
            try PostgresKeyStorage.execute(sql, url: postgresURL!)
        }
    }

    /// The number of rows in a table, whichever the database.
    func rows(in table: String) throws -> Int {
        switch backend {
        case .sqlite:
            return try database.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 }
        case .postgres, .pooled:
            return try PostgresKeyStorage.rows(in: table, url: postgresURL!)
        }
    }
}

/// A fresh directory under the system's temporary one, removed by the
/// caller, or else when the test process exits (``ScratchFolder``).
func temporaryDirectory() throws -> URL {
    try ScratchFolder.make("keygate-tests")
}
