public import Foundation
public import KeyStore

/// A key as the dashboard sees it: its record and its status on the
/// organization's current plan.
public struct ManagedKey: Sendable, Hashable {
    public let record: KeyRecord
    /// Derived from the record, the time and the plan, `suspended` included.
    public let status: KeyStatus
    /// The capabilities the key can use on the current plan.
    public let usableCapabilities: [String]
    /// The rate limit enforced on the current plan.
    public let effectiveRateLimit: Int
    /// Earlier secrets a rotation left working, the soonest to stop first;
    /// none for a revoked or expired key, which they no longer open.
    public internal(set) var previousSecrets: [PreviousSecret] = []
}

/// A new key with the only copy of its secret.
public struct CreatedKey: Sendable {
    public let key: ManagedKey
    public let secret: RawKey
    /// After a rotation, when the previous secret stops (`nil`: at once).
    public let previousSecretExpiresAt: Date?
}

public struct ManagedKeyPage: Sendable {
    public let keys: [ManagedKey]
    public let nextCursor: String?
}

/// What the dashboard's create dialog asks for.
public struct CreateKeyRequest: Sendable, Hashable {
    public var organizationId: String
    public var name: String
    public var kind: String
    public var capabilities: [String]
    public var expiresAt: Date?
    /// `nil`: the plan's default.
    public var rateLimit: Int?
    public var allowedOrigins: [String]
    /// `nil`: the catalog's first environment.
    public var environment: String?
    public var actor: String?
    /// The caller's name for this creation: sent again, it creates nothing
    /// and is refused with ``ServiceError/Code/keyAlreadyCreated``, naming
    /// the key the first call made (``KeyStorage/create(_:limit:)``).
    public var idempotencyKey: String?

    public init(
        organizationId: String, name: String, kind: String, capabilities: [String], expiresAt: Date? = nil,
        rateLimit: Int? = nil, allowedOrigins: [String] = [], environment: String? = nil, actor: String? = nil,
        idempotencyKey: String? = nil
    ) {
        self.organizationId = organizationId
        self.name = name
        self.kind = kind
        self.capabilities = capabilities
        self.expiresAt = expiresAt
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.environment = environment
        self.actor = actor
        self.idempotencyKey = idempotencyKey
    }
}
