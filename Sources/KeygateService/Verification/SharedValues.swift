import KeyStore

/// One copy of what many cached keys repeat. Their kinds and capability
/// lists come from the catalog, their origin lists are often an
/// organization's one list; a copy of each in every cached key was about a
/// tenth of a 100,000-key cache's memory, and an allocation of its own
/// (docs/PERFORMANCE.md). Past ``limit`` distinct values of a sort, new
/// ones are kept as they came, so a store of many distinct lists cannot
/// make this grow without bound. Lives only inside ``VerificationState``'s
/// lock.
struct SharedValues {
    /// Distinct values kept of each sort.
    static let limit = 1_024

    private var strings: [String: String] = [:]
    private var lists: [[String]: [String]] = [:]

    /// The record, its repeated values replaced by the copies held.
    mutating func record(_ record: KeyRecord) -> KeyRecord {
        KeyRecord(id: record.id, organizationId: record.organizationId, name: record.name, kind: string(record.kind),
                  capabilities: list(record.capabilities), environment: string(record.environment), hint: record.hint,
                  rateLimit: record.rateLimit, allowedOrigins: list(record.allowedOrigins), createdAt: record.createdAt,
                  expiresAt: record.expiresAt, revokedAt: record.revokedAt, lastUsedAt: record.lastUsedAt,
                  lastOrigin: record.lastOrigin, lastIP: record.lastIP, usage: record.usage)
    }

    private mutating func string(_ value: String) -> String {
        // Up to 15 bytes a string is held in place, with nothing to share.
        guard value.utf8.count > 15 else { return value }
        if let held = strings[value] { return held }
        if strings.count < Self.limit { strings[value] = value }
        return value
    }

    private mutating func list(_ value: [String]) -> [String] {
        // An empty array is one shared storage already.
        guard !value.isEmpty else { return value }
        if let held = lists[value] { return held }
        if lists.count < Self.limit { lists[value] = value }
        return value
    }
}
