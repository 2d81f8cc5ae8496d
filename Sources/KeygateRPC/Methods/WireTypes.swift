public import Foundation

/// A key as callers see it. `hint` is never more than the prefix and the
/// last four characters; the secret itself appears only in the answers to
/// `keys.create` and `keys.rotate`.
public struct KeyInfo: Codable, Sendable, Hashable {
    public var id: String
    public var organizationId: String
    public var name: String
    public var kind: String
    /// The kind's name in the request's language.
    public var kindName: String
    public var capabilities: [String]
    /// The capabilities the key can use on its organization's plan now.
    public var usableCapabilities: [String]
    public var environment: String
    public var hint: String
    public var status: String
    /// The status in the request's language.
    public var statusText: String
    public var createdAt: Date
    public var expiresAt: Date?
    public var lastUsedAt: Date?
    /// "Never", "2 days ago", in the request's language.
    public var lastUsedText: String
    public var rateLimit: Int
    /// The rate limit enforced on the plan now (the key's, clamped to the plan's ceiling).
    public var effectiveRateLimit: Int
    public var allowedOrigins: [String]
    public var usage: Usage

    public struct Usage: Codable, Sendable, Hashable {
        public var valid: Int
        public var invalid: Int
    }
}

public struct SubscriptionInfo: Codable, Sendable, Hashable {
    public var organizationId: String
    public var plan: String
    public var planName: String
    public var status: String
    public var statusText: String
    public var periodStart: Date?
    public var periodEnd: Date?
    public var updatedAt: Date?
}

public struct QuotaInfo: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    /// `null`: unlimited.
    public var limit: Int?
    public var used: Int
    public var remaining: Int?
    public var period: String
    /// `null` for quotas that never reset.
    public var resetsAt: Date?
}

public struct PlanInfo: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var apiKeys: APIKeys
    public var quotas: [Quota]

    public struct APIKeys: Codable, Sendable, Hashable {
        public var enabled: Bool
        public var maxActiveKeys: Int?
        public var kinds: [String]
        public var capabilities: [String]
        public var rateLimit: RateLimit?
        public var maxLifetimeDays: Int?
    }

    public struct Quota: Codable, Sendable, Hashable {
        public var id: String
        public var limit: Int?
        public var period: String
    }
}

public struct RateLimit: Codable, Sendable, Hashable {
    public var `default`: Int
    public var max: Int
}

public struct CapabilityInfo: Codable, Sendable, Hashable {
    public var id: String
    public var description: String
}

public struct KindInfo: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var capabilities: [String]
}

public struct KindOptionInfo: Codable, Sendable, Hashable {
    public var id: String
    public var name: String
    public var capabilities: [CapabilityInfo]
}
