import Foundation
import KeyStore

/// What verification needs of a key's record, and nothing else: its name,
/// hint, environment and last use stay in the store. A whole ``KeyRecord``
/// in each cached key was about half of a cache entry's memory
/// (docs/PERFORMANCE.md). Lives only inside ``VerificationState``'s lock.
struct CachedRecord: KeyTerms {
    let id: String
    let organizationId: String
    let kind: String
    let capabilities: [String]
    let rateLimit: Int
    let allowedOrigins: [String]
    let expiresAt: Date?
    let revokedAt: Date?

    /// The record's terms, with what many keys repeat taken from `shared`.
    init(_ record: KeyRecord, sharing shared: inout SharedValues) {
        id = record.id
        organizationId = record.organizationId
        kind = shared.string(record.kind)
        capabilities = shared.list(record.capabilities)
        rateLimit = record.rateLimit
        allowedOrigins = shared.list(record.allowedOrigins)
        expiresAt = record.expiresAt
        revokedAt = record.revokedAt
    }

    func state(at now: Date) -> KeyState {
        KeyState(revokedAt: revokedAt, expiresAt: expiresAt, at: now)
    }
}
