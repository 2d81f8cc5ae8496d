extension UsageDay {
    /// The two queries whose rows ``days(keyId:totals:counts:)`` folds: a
    /// key's days (`forKey`), or an organization's summed over its keys.
    /// Both stores run them as written here; their parameters are the key's
    /// or organization's id, the first day and the last, numbered after
    /// `marker` (`?` for SQLite, `$` for PostgreSQL).
    package static func queries(forKey: Bool, marker: Character) -> (totals: String, counts: String) {
        let (id, first, last) = ("\(marker)1", "\(marker)2", "\(marker)3")
        if forKey {
            return ("SELECT day, valid, invalid FROM key_usage_day WHERE key_id = \(id) AND day BETWEEN \(first) AND \(last) ORDER BY day",
                    "SELECT day, dimension, name, count FROM key_usage_count WHERE key_id = \(id) AND day BETWEEN \(first) AND \(last)")
        }
        return ("""
            SELECT u.day, SUM(u.valid), SUM(u.invalid)
            FROM key_usage_day u JOIN api_key k ON k.id = u.key_id
            WHERE k.organization_id = \(id) AND u.day BETWEEN \(first) AND \(last)
            GROUP BY u.day ORDER BY u.day
            """, """
            SELECT c.day, c.dimension, c.name, SUM(c.count)
            FROM key_usage_count c JOIN api_key k ON k.id = c.key_id
            WHERE k.organization_id = \(id) AND c.day BETWEEN \(first) AND \(last)
            GROUP BY c.day, c.dimension, c.name
            """)
    }

    /// Days from their totals, in order, each with its breakdown rows
    /// (day, `outcome` or `capability`, name, count) folded in.
    package static func days(keyId: String?, totals: [(day: String, valid: Int, invalid: Int)],
                             counts: [(day: String, dimension: String, name: String, count: Int)]) -> [UsageDay] {
        var refusals: [String: [String: Int]] = [:]
        var capabilities: [String: [String: Int]] = [:]
        for row in counts where row.count > 0 {
            if row.dimension == "outcome" {
                refusals[row.day, default: [:]][row.name] = row.count
            } else {
                capabilities[row.day, default: [:]][row.name] = row.count
            }
        }
        return totals.map { total in
            UsageDay(date: total.day, keyId: keyId, valid: total.valid, invalid: total.invalid,
                     refusals: refusals[total.day] ?? [:], capabilities: capabilities[total.day] ?? [:])
        }
    }
}
