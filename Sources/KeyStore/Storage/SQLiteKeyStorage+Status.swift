public import Foundation
import GRDB

extension SQLiteKeyStorage {
    /// What the database file at `path` holds, and the settings its
    /// processes recorded within `window` before `now`, read on a read-only
    /// connection: nothing is migrated, created or written, so it is safe
    /// beside processes of any version, and before an upgrade.
    ///
    /// - Throws: ``KeyStoreError/Code/storageFailure`` as
    ///   ``init(path:rules:clock:)`` reports it (`io` where there is no such
    ///   file; `corrupt`, with a `detail`, where the file is not a Keygate
    ///   database).
    public static func status(path: String, within window: TimeInterval, now: Date = Date())
        throws(KeyStoreError) -> StoreStatus
    {
        try status(path: path, within: window, now: now, countingUpTo: RememberedCount.countedUpTo)
    }

    /// As ``status(path:within:now:)``, counting up to `limit` rows of each
    /// table of remembered calls.
    package static func status(path: String, within window: TimeInterval, now: Date, countingUpTo limit: Int)
        throws(KeyStoreError) -> StoreStatus
    {
        if let refusal = KeyDatabase.refusal(of: path) {
            throw KeyStoreError(.storageFailure, ["reason": "io", "detail": refusal])
        }
        do {
            var configuration = Configuration()
            configuration.readonly = true
            configuration.busyMode = .timeout(KeyDatabase.busyTimeout)
            let queue = try DatabaseQueue(path: path, configuration: configuration)
            return try queue.read { db in try status(db, since: now.addingTimeInterval(-window), countingUpTo: limit) }
        } catch {
            throw StorageCoding.failure(error, detailing: nil)
        }
    }

    static func status(_ db: Database, since start: Date, countingUpTo limit: Int) throws -> StoreStatus {
        let tables = Set(try String.fetchAll(db, sql: "SELECT name FROM sqlite_master WHERE type = 'table'"))
        // None of Keygate's tables (an empty file, or the product's own
        // database named by mistake): no schema yet, as the first process
        // to open it would find.
        if tables.isDisjoint(with: ["api_key", "subscription"]) {
            return StoreStatus(schema: .empty, keys: 0, organizations: 0, settings: nil)
        }
        // A table missing that an applied migration made is damage. One
        // that a migration not yet applied makes is a database another
        // process is creating, read between two of its migrations (each
        // commits on its own): its schema is as far as they have come.
        let migrations = KeyDatabase.migrator.migrations
        let applied = tables.contains("grdb_migrations") ? try KeyDatabase.migrator.appliedIdentifiers(db) : []
        let made = [(table: "api_key", by: migrations[0]), (table: "subscription", by: migrations[1])]
        guard !applied.isEmpty, !made.contains(where: { applied.contains($0.by) && !tables.contains($0.table) }) else {
            throw KeyStoreError(.storageFailure, ["reason": "corrupt", "detail": "it holds only part of Keygate's schema"])
        }
        func count(_ table: String) throws -> Int {
            tables.contains(table) ? try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM \(table)") ?? 0 : 0
        }
        // Up to the limit, along the table's own key: all a count of a
        // table kept for good would read is bounded.
        func counted(_ table: String) throws -> Int {
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM (SELECT 1 FROM \(table) LIMIT ?)", arguments: [limit + 1]) ?? 0
        }
        let remembered = try RememberedCount.Calls.allCases.filter { tables.contains($0.table) }.map { calls in
            RememberedCount(calls: calls, counted: try counted(calls.table), limit: limit)
        }
        // The audit log's first entry by its position, an index's first row.
        let auditLog = AuditLogCount(
            counted: try counted("audit_entry"), limit: limit,
            firstAt: try Int64.fetchOne(db, sql: "SELECT at FROM audit_entry ORDER BY id LIMIT 1").map(StorageCoding.date))
        return StoreStatus(
            schema: schema(applied: applied),
            keys: try count("api_key"),
            organizations: try count("subscription"),
            settings: tables.contains(SettingTable.values.rawValue) ? try settings(since: start, in: .values, db) : nil,
            processes: tables.contains(SettingTable.processes.rawValue) ? try settings(since: start, in: .processes, db) : nil,
            remembered: remembered, auditLog: auditLog)
    }

    /// The schema of a file with the migrations `applied`, against this build's.
    static func schema(applied: Set<String>) -> StoreStatus.Schema {
        let migrator = KeyDatabase.migrator
        let unknown = KeyDatabase.unknownMigrations(applied, to: migrator)
        guard unknown.isEmpty else { return .ahead(unknown: unknown) }
        let latest = migrator.migrations.last(where: applied.contains) ?? "none"
        let pending = migrator.migrations.filter { !applied.contains($0) }
        return pending.isEmpty ? .current(latest: latest) : .behind(latest: latest, pending: pending)
    }
}
