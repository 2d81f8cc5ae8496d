import Foundation
import GRDB
import KeyStore
import KeyStorePostgres

/// What `organizations.erase` costs (`--erase`; on PostgreSQL too under
/// Scripts/with-postgres.sh): an organization of `keys` keys, each created
/// by the store (a secret, an audit entry, an event) and half of them
/// rotated with a grace period (a second secret, another entry and
/// event), in a log of a million entries of 1,000 other organizations,
/// beside a million billing event ids of theirs (kept for good, the
/// default retention); then its erasure, one transaction: on SQLite the
/// time the one writer is held, on PostgreSQL the time the
/// organization's lock is.
func erasureRows(keys: [Int]) throws -> [Row] {
    try keys.map { keys in
        try withScratchDatabase("erase") { path in
            let store = try SQLiteKeyStorage(path: path, rules: erasureRules)
            let queue = try DatabaseQueue(path: path)
            for first in stride(from: 0, to: 1_000_000, by: 100_000) {
                try queue.write { db in try db.execute(sql: auditSQL(from: first, to: first + 99_999, old: 0)) }
                try queue.write { db in try db.execute(sql: billingEventsSQL(from: first, to: first + 99_999)) }
            }
            try queue.close()
            return try erasureRow(store, keys: keys, name: "SQLite")
        }
    }
}

func erasureRowsPostgres(_ bench: PostgresBench, keys: [Int]) throws -> [Row] {
    try keys.map { keys in
        let url = try bench.freshSchema()
        let store = try PostgresKeyStorage(url: url, rules: erasureRules)
        let series = "generate_series(%d, %d) g(n)"
        _ = try bench.psql(url, auditSQL(from: 0, to: 999_999, old: 0, series: series) + ";\n"
                           + billingEventsSQL(from: 0, to: 999_999, series: series) + "; ANALYZE audit_entry, billing_event")
        return try erasureRow(store, keys: keys, name: "PostgreSQL")
    }
}

private let erasureRules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live"]), kinds: ["owner_integration"],
                                    capabilities: ["booking.read"])

private func erasureRow(_ store: any KeygateStorage, keys: Int, name: String) throws -> Row {
    for index in 0..<keys {
        let key = try store.create(NewKey(organizationId: "org_gone", name: "Zapier \(index)", kind: "owner_integration",
                                          capabilities: ["booking.read"], environment: "live", rateLimit: 60,
                                          allowedOrigins: [], expiresAt: nil, actor: "user_1"))
        if index.isMultiple(of: 2) {
            _ = try store.rotate(id: key.key.id, organizationId: "org_gone", gracePeriodSeconds: 3_600, actor: "user_1")
        }
    }
    let began = Measure.now()
    let erasure = try store.eraseOrganization("org_gone", actor: "bench")
    let seconds = Double(Measure.now() - began) / 1e9
    guard erasure.keys == keys else { throw BenchError("erased \(erasure.keys) of \(keys) keys") }
    return Row(name: "organization erasure, \(name), \(keys.formatted()) keys (1M audit entries, 1M billing event ids of others)",
               value: String(format: "%.1f ms, %.0f µs a key", seconds * 1e3, seconds / Double(keys) * 1e6),
               target: "", met: nil)
}

/// Billing event ids `first` to `last` of 1,000 organizations, as
/// ``auditSQL(from:to:old:series:)`` writes entries.
private func billingEventsSQL(from first: Int, to last: Int, series: String? = nil) -> String {
    let numbers = series.map { String(format: $0, first, last) }
        ?? "(WITH RECURSIVE c(n) AS (SELECT \(first) UNION ALL SELECT n + 1 FROM c WHERE n < \(last)) SELECT n FROM c) g"
    return """
        INSERT INTO billing_event (event_id, organization_id, occurred_at, received_at, outcome)
        SELECT 'evt_' || n, 'org_' || (n % 1000), \(retentionNow), \(retentionNow), 'applied'
        FROM \(numbers)
        """
}
