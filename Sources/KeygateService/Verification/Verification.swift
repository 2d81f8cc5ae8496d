public import Foundation

/// What the API gateway asks for each request an integration makes.
public struct VerifyRequest: Sendable, Hashable {
    /// The raw key, as sent.
    public var key: String
    /// The capability the request needs; or give ``method`` and ``path`` to
    /// find it in the catalog's route table.
    public var capability: String?
    public var method: String?
    public var path: String?
    /// The request's `Origin` header, if it has one.
    public var origin: String?
    public var ip: String?
    /// How many requests this one counts as, against the rate limit and the quota.
    public var cost: Int

    public init(key: String, capability: String? = nil, method: String? = nil, path: String? = nil,
                origin: String? = nil, ip: String? = nil, cost: Int = 1) {
        self.key = key
        self.capability = capability
        self.method = method
        self.path = path
        self.origin = origin
        self.ip = ip
        self.cost = cost
    }

    /// The key in an `Authorization` header value (`Bearer kg_live_…`), or
    /// `nil` when the header is not a bearer token.
    public static func key(fromAuthorization header: String) -> String? {
        let parts = header.trimmingCharacters(in: .whitespaces).split(separator: " ", maxSplits: 1, omittingEmptySubsequences: true)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return parts[1].trimmingCharacters(in: .whitespaces)
    }

    /// A request for whatever `Authorization` header a gateway forwards:
    /// one that is not a bearer token (`Basic …`, a bare key, empty) is
    /// verified as a malformed key, so the gateway gets a 401 result, not
    /// an error.
    public init(authorization header: String, capability: String? = nil, method: String? = nil, path: String? = nil,
                origin: String? = nil, ip: String? = nil, cost: Int = 1) {
        self.init(key: Self.key(fromAuthorization: header) ?? "", capability: capability, method: method, path: path,
                  origin: origin, ip: ip, cost: cost)
    }
}

/// The outcome of a verification, checked in this order; each carries the
/// HTTP status the gateway should answer with.
public enum VerifyOutcome: String, Sendable, Hashable, CaseIterable {
    case valid
    case malformed
    case notFound = "not_found"
    case revoked
    case expired
    case planSuspended = "plan_suspended"
    case insufficientCapability = "insufficient_capability"
    case originNotAllowed = "origin_not_allowed"
    case rateLimited = "rate_limited"
    case quotaExceeded = "quota_exceeded"

    public var httpStatus: Int {
        switch self {
        case .valid: 200
        case .malformed, .notFound, .revoked, .expired: 401
        case .planSuspended, .insufficientCapability, .originNotAllowed: 403
        case .rateLimited, .quotaExceeded: 429
        }
    }
}

/// A verification's answer. A denied key is an answer, not an error.
public struct VerifyResult: Sendable, Hashable {
    public internal(set) var outcome: VerifyOutcome
    public var isValid: Bool { outcome == .valid }
    public var organizationId: String?
    public var keyId: String?
    public var kind: String?
    /// When the secret presented stops working, for a live key's secret
    /// that a rotation left in its grace period; `nil` for the key's
    /// current secret, which works as long as its key. A product's API can
    /// pass it on (a `Sunset` header, RFC 8594) so that the integration
    /// moves to the new secret before the old one stops.
    public var secretExpiresAt: Date?
    /// What the key can do on its plan now.
    public var capabilities: [String]?
    public var rateLimit: RateLimitState?
    /// Whole seconds until a retry can succeed: a rate-limited request, or
    /// one over a quota (until the quota resets).
    public var retryAfter: Int?
    public var quota: QuotaState?
    /// What a message about the outcome needs: the capability missing, the
    /// origin refused (`nil`: none was sent), or `noRoute` with the method
    /// and path when no route matched. The request's text, as
    /// ``KeyFormat/redacted(_:)`` echoes it: a key pasted there only as its
    /// hint, invisible characters taken out, cut to 64 characters.
    public var capability: String?
    public var origin: String?
    public var noRoute: Bool = false
    public var method: String?
    public var path: String?

    init(_ outcome: VerifyOutcome) {
        self.outcome = outcome
    }
}

/// A key's rate limit after a verification.
public struct RateLimitState: Sendable, Hashable {
    /// Requests per minute.
    public let limit: Int
    public let remaining: Int
    /// When the key's full allowance is back.
    public let resetAt: Date
}
