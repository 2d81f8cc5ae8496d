import KeyStore
import Locking

/// One rate limit per key across every host: each key's GCRA arrival time
/// lives in an unlogged table, read and written under the row's lock in one
/// short transaction per verification that reaches the limiter.
///
/// While the server cannot be reached, each process falls back to limits of
/// its own (kept here), so verification keeps answering; admissions across
/// processes may then exceed a key's limit by the number of processes.
/// After a crash of the server an unlogged table comes back empty: every
/// key starts with its full burst again.
final class PostgresRateLimits: SharedRateLimits {
    private let pool: PGPool
    private let local = Locked([UInt64: Int64]())

    init(pool: PGPool) {
        self.pool = pool
    }

    func withArrival<T>(of tag: UInt64, _ body: (inout Int64) -> T) -> T {
        let key = Int64(bitPattern: tag)
        do {
            return try pool.withConnection { connection in
                try connection.execute("BEGIN")
                do {
                    // An upsert takes the row's lock, so the read and the write
                    // below are one step for every host.
                    var arrival = try connection.query("""
                        INSERT INTO rate_limit (tag, arrival) VALUES ($1, 0)
                        ON CONFLICT (tag) DO UPDATE SET tag = excluded.tag RETURNING arrival
                        """, [.integer(key)]).int64(0, 0) ?? 0
                    let before = arrival
                    let result = body(&arrival)
                    if arrival != before {
                        try connection.query("UPDATE rate_limit SET arrival = $2 WHERE tag = $1", [.integer(key), .integer(arrival)])
                    }
                    try connection.execute("COMMIT")
                    return result
                } catch {
                    if connection.inTransaction { try? connection.execute("ROLLBACK") }
                    throw error
                }
            }
        } catch {
            return local.withLock { arrivals in body(&arrivals[tag, default: 0]) }
        }
    }
}
