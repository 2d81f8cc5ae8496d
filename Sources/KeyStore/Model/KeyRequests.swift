public import Foundation

/// What a new key should be. The store checks every field (see ``KeyRules``).
public struct NewKey: Sendable, Hashable {
    public var organizationId: String
    public var name: String
    public var kind: String
    public var capabilities: [String]
    public var environment: String
    public var rateLimit: Int
    public var allowedOrigins: [String]
    public var expiresAt: Date?
    /// Who asked, for the audit log.
    public var actor: String?

    public init(
        organizationId: String,
        name: String,
        kind: String,
        capabilities: [String],
        environment: String,
        rateLimit: Int,
        allowedOrigins: [String] = [],
        expiresAt: Date? = nil,
        actor: String? = nil
    ) {
        self.organizationId = organizationId
        self.name = name
        self.kind = kind
        self.capabilities = capabilities
        self.environment = environment
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.expiresAt = expiresAt
        self.actor = actor
    }
}

/// Changes to a key; `nil` leaves a field as it is.
public struct KeyChanges: Sendable, Hashable {
    public var name: String?
    public var capabilities: [String]?
    public var rateLimit: Int?
    public var allowedOrigins: [String]?
    /// A new expiry, in the future.
    public var expiresAt: Date?

    public init(name: String? = nil, capabilities: [String]? = nil, rateLimit: Int? = nil, allowedOrigins: [String]? = nil,
                expiresAt: Date? = nil) {
        self.name = name
        self.capabilities = capabilities
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.expiresAt = expiresAt
    }

    public var isEmpty: Bool {
        name == nil && capabilities == nil && rateLimit == nil && allowedOrigins == nil && expiresAt == nil
    }
}

/// A key just created or rotated, with the only copy of its secret.
public struct IssuedKey: Sendable {
    public let key: KeyRecord
    /// Return it to the caller once; it is stored nowhere.
    public let secret: RawKey
    /// After a rotation, when the previous secret stops working (`nil` when
    /// it stopped at once, and after a creation).
    public let previousSecretExpiresAt: Date?

    /// For the stores of this package, which build it from what they read.
    package init(key: KeyRecord, secret: RawKey, previousSecretExpiresAt: Date?) {
        self.key = key
        self.secret = secret
        self.previousSecretExpiresAt = previousSecretExpiresAt
    }
}

/// A key found by its secret.
public struct KeyMatch: Sendable {
    public let key: KeyRecord
    /// When this secret stops working: the grace deadline of a rotated-out
    /// secret, `nil` for the current one.
    public let secretExpiresAt: Date?

    /// For the stores of this package, which build it from what they read.
    package init(key: KeyRecord, secretExpiresAt: Date?) {
        self.key = key
        self.secretExpiresAt = secretExpiresAt
    }
}

/// One page of keys, newest first.
public struct KeyPage: Sendable {
    public let keys: [KeyRecord]
    /// Pass it back for the next page; `nil` on the last page.
    public let nextCursor: String?

    /// For the stores of this package, which build it from what they read.
    package init(keys: [KeyRecord], nextCursor: String?) {
        self.keys = keys
        self.nextCursor = nextCursor
    }
}

/// Which keys a list shows, by what their records say.
public enum KeyFilter: Sendable, Hashable {
    case all
    case state(KeyState)
}
