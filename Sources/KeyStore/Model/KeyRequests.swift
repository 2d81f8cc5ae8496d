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
    /// The caller's name for this creation, so that a retry whose answer
    /// was lost makes no second key: the store remembers the key it made
    /// under it and refuses the same creation again with
    /// ``KeyStoreError/Code/keyAlreadyCreated``, naming that key.
    public var idempotencyKey: String?
    /// What the caller sent where a default filled in ``environment``,
    /// ``rateLimit`` or ``expiresAt``: a creation sent again under
    /// ``idempotencyKey`` is compared with what the first one sent, as a
    /// default may move between the two (a plan's longest lifetime runs
    /// from now). `nil`: these three are as the caller sent them.
    public var sent: SentSettings?

    /// Settings of a creation as its caller sent them; `nil`: left out.
    public struct SentSettings: Sendable, Hashable {
        public var environment: String?
        public var rateLimit: Int?
        public var expiresAt: Date?

        public init(environment: String?, rateLimit: Int?, expiresAt: Date?) {
            self.environment = environment
            self.rateLimit = rateLimit
            self.expiresAt = expiresAt
        }
    }

    public init(
        organizationId: String,
        name: String,
        kind: String,
        capabilities: [String],
        environment: String,
        rateLimit: Int,
        allowedOrigins: [String] = [],
        expiresAt: Date? = nil,
        actor: String? = nil,
        idempotencyKey: String? = nil,
        sent: SentSettings? = nil
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
        self.idempotencyKey = idempotencyKey
        self.sent = sent
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
    /// Each key's place in the list, for ``cursor(after:)``.
    private let positions: [Int64]

    /// For the stores of this package, which build it from what they read:
    /// `positions` holds each key's place, as their cursors encode it.
    package init(keys: [KeyRecord], positions: [Int64], nextCursor: String?) {
        precondition(keys.count == positions.count, "a position for each key")
        self.keys = keys
        self.positions = positions
        self.nextCursor = nextCursor
    }

    /// The cursor of the page that starts after `keys[index]`: what a
    /// caller that takes only part of this page passes back for the rest.
    package func cursor(after index: Int) -> String {
        StorageCoding.cursor(positions[index])
    }
}

/// Which keys a list shows, by what their records say.
public enum KeyFilter: Sendable, Hashable {
    case all
    case state(KeyState)
}

/// A key issued before Keygate (or by another Keygate), moved in with its
/// secret unchanged, so its holders change nothing. The store checks every
/// field as for a creation (see ``KeyRules``).
public struct ImportedKey: Sendable, Hashable {
    /// How the key is known: by the key itself, hashed on the way in and
    /// never stored, or by the SHA-256 digest the product kept.
    public enum Secret: Sendable, Hashable {
        case key(RawKey)
        /// The SHA-256 of the whole key: 64 hexadecimal digits, or 44
        /// characters of base64 (standard or URL-safe, padding optional).
        case sha256(String)
    }

    public var organizationId: String
    public var name: String
    public var kind: String
    public var capabilities: [String]
    public var secret: Secret
    /// `nil`: the environment of the key's format, or the catalog's first.
    public var environment: String?
    public var rateLimit: Int
    public var allowedOrigins: [String]
    /// When it was first issued; `nil`: its last use if given, else now.
    /// Never in the future.
    public var createdAt: Date?
    /// In the future, as for a creation.
    public var expiresAt: Date?
    /// When it was last used, if the product knows; between `createdAt` and now.
    public var lastUsedAt: Date?
    /// Who asked, for the audit log.
    public var actor: String?

    public init(
        organizationId: String, name: String, kind: String, capabilities: [String], secret: Secret,
        environment: String? = nil, rateLimit: Int, allowedOrigins: [String] = [], createdAt: Date? = nil,
        expiresAt: Date? = nil, lastUsedAt: Date? = nil, actor: String? = nil
    ) {
        self.organizationId = organizationId
        self.name = name
        self.kind = kind
        self.capabilities = capabilities
        self.secret = secret
        self.environment = environment
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.lastUsedAt = lastUsedAt
        self.actor = actor
    }
}

/// What importing one key did.
public struct ImportedKeyResult: Sendable {
    public let key: KeyRecord
    /// `false`: the key was already here, in this organization, and nothing changed.
    public let imported: Bool

    /// For the stores of this package.
    package init(key: KeyRecord, imported: Bool) {
        self.key = key
        self.imported = imported
    }
}
