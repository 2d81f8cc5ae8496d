public import Foundation

/// Everything stored about a key, and never its secret.
public struct KeyRecord: Sendable, Hashable, Identifiable {
    /// The public id, such as `key_4fT9…`; safe to show and log.
    public let id: String
    public let organizationId: String
    public var name: String
    public let kind: String
    /// In the order they were given.
    public var capabilities: [String]
    public let environment: String
    /// The prefix and last four characters of the current secret.
    public var hint: String
    /// Requests per minute.
    public var rateLimit: Int
    /// Normalized origins (`https://shop.example`); empty allows every origin.
    public var allowedOrigins: [String]
    public let createdAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?
    public var lastUsedAt: Date?
    /// Where the last successful use came from, as the gateway reported it
    /// (its origin and client IP; `nil` when not reported).
    public var lastOrigin: String?
    public var lastIP: String?
    /// Verifications of this key, over its life.
    public var usage: KeyUsage

    /// The status the record alone decides: revoked, expired, or active.
    // Inlinable: verification asks on every call, where a call into this
    // module cost about 50 instructions of a hot verification (callgrind).
    @inlinable
    public func state(at now: Date) -> KeyState {
        KeyState(revokedAt: revokedAt, expiresAt: expiresAt, at: now)
    }

    /// For the stores of this package, which build it from what they read.
    package init(
        id: String, organizationId: String, name: String, kind: String, capabilities: [String], environment: String,
        hint: String, rateLimit: Int, allowedOrigins: [String], createdAt: Date, expiresAt: Date?, revokedAt: Date?,
        lastUsedAt: Date?, lastOrigin: String? = nil, lastIP: String? = nil, usage: KeyUsage
    ) {
        self.id = id
        self.organizationId = organizationId
        self.name = name
        self.kind = kind
        self.capabilities = capabilities
        self.environment = environment
        self.hint = hint
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.revokedAt = revokedAt
        self.lastUsedAt = lastUsedAt
        self.lastOrigin = lastOrigin
        self.lastIP = lastIP
        self.usage = usage
    }
}

/// How often a key was presented, valid or not.
public struct KeyUsage: Sendable, Hashable, Codable {
    public var valid: Int
    public var invalid: Int

    public init(valid: Int = 0, invalid: Int = 0) {
        self.valid = valid
        self.invalid = invalid
    }
}
