import Foundation
import GRDB
import KeyStore

/// What a flush of keys' counts into SQLite's usage file costs (`--flush`):
/// 40,000 keys' counts (a second of realistic traffic's keys), written as
/// the service writes them, in batches of 1,000 keys in order of id, each
/// with a last use and a capability; once for each of three days, so that
/// every batch inserts rows, and the best of the three. With `names`
/// deleted keys named in the file (`key_forgotten`, none of them among
/// those counted), which every row is looked up in before it is written.
func usageFlushRows(names: [Int]) throws -> [Row] {
    try names.map { names in
        try withScratchDatabase("flush") { path in
            let store = try SQLiteKeyStorage(path: path, rules: retentionRules)
            if names > 0 {
                try DatabaseQueue(path: KeyDatabase.usagePath(for: path)).write { db in
                    try db.execute(sql: """
                        WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < \(names))
                        INSERT INTO key_forgotten (key_id, forgotten_at) SELECT 'key_gone_' || hex(randomblob(11)), 0 FROM c
                        """)
                }
            }
            let keys = (0..<40_000).map { _ in "key_" + UUID().uuidString.replacingOccurrences(of: "-", with: "").lowercased() }.sorted()
            var best = Double.infinity
            for day in 0..<3 {
                let date = Date(timeIntervalSince1970: 1_764_547_200 + Double(day) * 86_400)
                let increments = keys.map { key in
                    UsageIncrement(keyId: key, day: date, valid: 1, invalid: 0, lastUsedAt: date, lastIP: "203.0.113.9",
                                   capabilities: ["booking.read": 1])
                }
                let began = Measure.now()
                for first in stride(from: 0, to: increments.count, by: 1_000) {
                    try store.flush(usage: Array(increments[first..<first + 1_000]), meters: [], identity: UUID().uuidString,
                                    changesSeen: nil)
                }
                best = min(best, Double(Measure.now() - began) / 1e9)
            }
            return Row(name: "usage flush, SQLite, 40,000 keys' counts in 40 batches, \(names.formatted()) deleted keys named",
                       value: String(format: "%.1f ms, %.2f µs a key", best * 1e3, best / 40_000 * 1e6), target: "", met: nil)
        }
    }
}
