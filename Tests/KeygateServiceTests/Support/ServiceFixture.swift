import Foundation
import GRDB
@testable import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import KeygateService
import PlanCatalog

/// The service on a catalog from Plans/, an in-memory store and a manual clock.
final class ServiceFixture: @unchecked Sendable {
    static let repository = URL(filePath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    let clock = ManualClock(utc(2026, 11, 22, 12))
    let catalog: PlanCatalog
    let storage: any KeygateStorage
    let service: KeygateService
    private var events = 0

    /// The PostgreSQL schema's URL (nil on SQLite), for a second fixture on the same data.
    let postgresURL: String?
    /// The SQLite database's path (`:memory:`, or nil on PostgreSQL), for
    /// a test that writes to it as another program would.
    let sqlitePath: String?

    /// The service on an in-memory SQLite database (or `database`), or on
    /// a fresh schema of the test PostgreSQL server (a fresh database
    /// through PgBouncer), or the one `postgresURL` names. `watchesChanges:
    /// false` plays a SQLite file whose change watcher could not be opened.
    /// `editing` changes the catalog's text before it is loaded.
    init(catalog name: String = "plans.xml", editing edit: ((String) -> String)? = nil, backend: Backend = .sqlite,
         database: (any DatabaseWriter)? = nil, postgresURL existing: String? = nil, sharing other: ServiceFixture? = nil,
         watchesChanges: Bool = true) throws {
        var source = Self.repository.appending(path: "Plans").appending(path: name)
        if let edit {
            let edited = try ScratchFolder.make("keygate-catalog").appending(path: "plans.xml")
            try Data(edit(String(decoding: Data(contentsOf: source), as: UTF8.self)).utf8).write(to: edited)
            source = edited
        }
        catalog = try PlanCatalog.load(contentsOf: source)
        switch backend {
        case .sqlite:
            postgresURL = nil
            let database = try database ?? KeyDatabase.inMemory()
            sqlitePath = database.path
            storage = SQLiteKeyStorage(database: database, rules: KeyRules(catalog: catalog), clock: clock,
                                       watchesChanges: watchesChanges)
        case .postgres, .pooled:
            let url = try existing ?? other?.postgresURL ?? backend.freshPostgresURL()!
            postgresURL = url
            sqlitePath = nil
            storage = try PostgresKeyStorage(url: url, rules: KeyRules(catalog: catalog), clock: clock, freshness: .strict,
                                             poolMode: backend.poolMode)
        }
        service = KeygateService(catalog: catalog, storage: storage, clock: clock)
    }

    /// `count` services on one database, as that many processes (or
    /// hosts) would be: a SQLite file in a scratch folder, or one fresh
    /// PostgreSQL schema.
    static func processes(_ count: Int, catalog name: String = "plans.xml", backend: Backend) throws -> [ServiceFixture] {
        let path = try ScratchFolder.make("keygate-processes").appending(path: "k.sqlite").path
        func open(sharing first: ServiceFixture?) throws -> ServiceFixture {
            try ServiceFixture(catalog: name, backend: backend,
                               database: backend == .sqlite ? try KeyDatabase.open(path: path) : nil, sharing: first)
        }
        let first = try open(sharing: nil)
        return try [first] + (1..<count).map { _ in try open(sharing: first) }
    }

    /// Moves an organization to a plan with a fresh billing event, a second after the last.
    @discardableResult
    func move(_ organization: String = "org_a", to plan: PlanID, status: SubscriptionStatus? = nil,
              periodStart: Date? = nil, periodEnd: Date? = nil) throws -> SetPlanResult {
        events += 1
        return try service.setPlan(SetPlanRequest(
            organizationId: organization, plan: plan, eventId: "evt_\(events)",
            occurredAt: clock.now().addingTimeInterval(TimeInterval(events)), status: status,
            periodStart: periodStart, periodEnd: periodEnd))
    }

    /// Logs 65,536 changes of another organization, as elsewhere on the
    /// database: a process that read the log before them finds it no longer
    /// reaches back to where it stopped, and forgets everything it held.
    func outrunChangeLog() throws {
        if let url = postgresURL {
            try PostgresKeyStorage.execute("""
                INSERT INTO change_event (seq, organization_id)
                SELECT (SELECT position FROM change_head) + g, 'org_x' FROM generate_series(1, 65536) g;
                UPDATE change_head SET position = position + 65536;
                DELETE FROM change_event WHERE seq <= (SELECT position FROM change_head) - 65536;
                """, url: url)
        } else {
            let path = try sqlitePath ?? { throw CocoaError(.fileNoSuchFile) }()
            try KeyDatabase.open(path: path).write { db in
                try db.execute(sql: """
                    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 65536)
                    INSERT INTO change_event (organization_id) SELECT 'org_x' FROM n
                    """)
            }
        }
    }

    /// The rows of a key's usage by day and its breakdown, wherever the
    /// store keeps them (on a SQLite file, its usage file): what no read
    /// through the key shows once the key is gone.
    func usageRows(ofKey keyId: String) throws -> Int {
        let query = """
            SELECT (SELECT COUNT(*) FROM key_usage_day WHERE key_id = '\(keyId)')
                 + (SELECT COUNT(*) FROM key_usage_count WHERE key_id = '\(keyId)')
            """
        if let url = postgresURL { return try PostgresKeyStorage.integer(query, url: url) ?? 0 }
        let path = try sqlitePath ?? { throw CocoaError(.fileNoSuchFile) }()
        return try KeyDatabase.open(path: path).read { db in try Int.fetchOne(db, sql: query) ?? 0 }
    }

    func create(
        _ organization: String = "org_a", name: String = "integration", kind: String, capabilities: [String],
        rateLimit: Int? = nil, expiresAt: Date? = nil
    ) throws -> CreatedKey {
        try service.createKey(CreateKeyRequest(
            organizationId: organization, name: name, kind: kind, capabilities: capabilities, expiresAt: expiresAt,
            rateLimit: rateLimit))
    }

    func status(_ key: CreatedKey) throws -> KeyStatus {
        try service.key(id: key.key.record.id, organizationId: key.key.record.organizationId).status
    }
}

func utc(_ year: Int, _ month: Int, _ day: Int, _ hour: Int = 0, _ minute: Int = 0) -> Date {
    var components = DateComponents(year: year, month: month, day: day, hour: hour, minute: minute)
    components.timeZone = TimeZone(identifier: "UTC")
    return Calendar(identifier: .gregorian).date(from: components)!
}
