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
    /// Verifications of this key, over its life.
    public var usage: KeyUsage

    /// The status the record alone decides: revoked, expired, or active.
    public func state(at now: Date) -> KeyState {
        if revokedAt != nil { return .revoked }
        if let expiresAt, expiresAt <= now { return .expired }
        return .live
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
