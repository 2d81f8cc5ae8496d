public import Foundation
public import KeyStore

extension PostgresKeyStorage {
    /// What the database `url` names holds, and the settings its processes
    /// recorded within `window` before `now`, read in one read-only
    /// transaction on a connection of its own: nothing is migrated, created
    /// or written, so it is safe beside processes of any version, before an
    /// upgrade, and through a pooler in either mode (nothing is prepared).
    ///
    /// - Throws: ``KeyStoreError/Code/storageFailure`` as
    ///   ``init(url:rules:clock:freshness:rateLimitOutage:poolMode:answerTimeouts:unreachableGrace:)``
    ///   reports it, with the server's words as `detail`.
    public static func status(url: String, within window: TimeInterval, now: Date = Date())
        throws(KeyStoreError) -> StoreStatus
    {
        try status(url: url, within: window, now: now, countingUpTo: RememberedCount.countedUpTo)
    }

    /// As ``status(url:within:now:)``, counting up to `limit` rows of each
    /// table of remembered calls.
    package static func status(url: String, within window: TimeInterval, now: Date, countingUpTo limit: Int)
        throws(KeyStoreError) -> StoreStatus
    {
        do {
            let connection = try PGConnection(conninfo: conninfo(for: url), prepares: false,
                                              answerTimeout: AnswerTimeouts().other)
            return try connection.inTransaction(lockTimeout: lockTimeout) {
                try connection.execute("SET TRANSACTION READ ONLY")
                return try status(connection, since: now.addingTimeInterval(-window), countingUpTo: limit)
            }
        } catch {
            throw storeError(error, detail: true)
        }
    }

    private static func status(_ connection: PGConnection, since start: Date, countingUpTo limit: Int) throws -> StoreStatus {
        // Which tables the schema holds: Keygate's own, its settings', then
        // those of remembered calls, in their order.
        let tables = try connection.query("""
            SELECT to_regclass('keygate_migration') IS NOT NULL, to_regclass('setting_in_use') IS NOT NULL,
                to_regclass('process_setting') IS NOT NULL, \(
                    RememberedCount.Calls.allCases.map { "to_regclass('\($0.table)') IS NOT NULL" }.joined(separator: ", "))
            """)
        guard tables.bool(0, 0) == true else { return StoreStatus(schema: .empty, keys: 0, organizations: 0, settings: nil) }
        let applied = try connection.query("SELECT version, name FROM keygate_migration ORDER BY version")
        let versions = (0..<applied.count).map { row in
            (version: applied.int(row, 0) ?? 0, name: applied.string(row, 1) ?? "")
        }
        guard let last = versions.last else { return StoreStatus(schema: .empty, keys: 0, organizations: 0, settings: nil) }
        let schema = last.version > PostgresMigrator.latest
            ? .ahead(unknown: versions.filter { $0.version > PostgresMigrator.latest }.map { "\($0.version): \($0.name)" })
            : PostgresMigrator.schema(at: last.version)
        // The tables of remembered calls this schema holds, each counted up
        // to the limit: all a count of a table remembered for good would
        // read is bounded.
        let remembered = RememberedCount.Calls.allCases.enumerated().filter { tables.bool(0, 3 + $0.offset) == true }.map(\.element)
        func counted(_ table: String) -> String { "(SELECT COUNT(*) FROM (SELECT 1 FROM \(table) LIMIT \(limit + 1)) t)" }
        let counts = try connection.query("""
            SELECT (SELECT COUNT(*) FROM api_key), (SELECT COUNT(*) FROM subscription), \(counted("audit_entry")),
                (SELECT at FROM audit_entry ORDER BY id LIMIT 1)
            """ + remembered.map { ", " + counted($0.table) }.joined())
        return StoreStatus(
            schema: schema, keys: counts.int(0, 0) ?? 0, organizations: counts.int(0, 1) ?? 0,
            settings: tables.bool(0, 1) == true ? try settings(since: start, in: .values, connection) : nil,
            processes: tables.bool(0, 2) == true ? try settings(since: start, in: .processes, connection) : nil,
            remembered: remembered.enumerated().map { index, calls in
                RememberedCount(calls: calls, counted: counts.int(0, 4 + index) ?? 0, limit: limit)
            },
            auditLog: AuditLogCount(counted: counts.int(0, 2) ?? 0, limit: limit,
                                    firstAt: counts.int64(0, 3).map(StorageCoding.date)))
    }
}
