public import KeyStore

extension PostgresKeyStorage {
    /// Deletes the `rate_limit` rows of keys whose time is before `before`,
    /// among the next `entries` rows in tag order: such a row admits what
    /// no row admits (a reservation starts a key with no row at its whole
    /// allowance), so only the table's size changes. A row that a
    /// reservation holds is skipped, not waited for (the pass never holds
    /// up a verification's reservation, nor deadlocks with one that locks
    /// several keys' rows), and one a reservation moved since the step
    /// began is checked again under its lock, and kept. A reservation that
    /// was waiting for a row this deletes makes the row again (migration
    /// 28: the server's insert-or-update waits for the deletion).
    public func forgetIdleRateLimits(before: Int64, after cursor: Int64?, entries: Int) throws(KeyStoreError)
        -> RateLimitSweep
    {
        let result = try write { connection in
            try connection.query("""
                WITH span AS MATERIALIZED (
                    SELECT tag FROM rate_limit \(cursor == nil ? "" : "WHERE tag > $3") ORDER BY tag LIMIT $2
                ), idle AS (
                    SELECT r.tag FROM rate_limit r WHERE r.tag IN (SELECT tag FROM span) AND r.arrival < $1
                    FOR UPDATE SKIP LOCKED
                ), gone AS (
                    DELETE FROM rate_limit r USING idle WHERE r.tag = idle.tag AND r.arrival < $1 RETURNING 1
                )
                SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM span), (SELECT max(tag) FROM span)
                """, [.integer(before), .of(entries)] + (cursor.map { [.integer($0)] } ?? []))
        }
        let forgotten = result.int(0, 0) ?? 0
        let looked = result.int(0, 1) ?? 0
        return RateLimitSweep(forgotten: forgotten, next: looked < entries ? nil : result.int64(0, 2))
    }
}
