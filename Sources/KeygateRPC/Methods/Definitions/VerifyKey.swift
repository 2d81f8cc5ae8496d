public import Foundation
public import KeygateService

public enum VerifyKey: RPCMethod {
    public static let name = "keys.verify"
    public static let summary = "Is this key valid for this request: capability or route, origin, rate limit and quota. A denial is a result."
    public static let errors: [ServiceError.Code] = [.invalidAmount, .storageFailure]
    public struct Params: Decodable, Sendable {
        public var key: String?
        public var authorization: String?
        public var capability: String?
        public var method: String?
        public var path: String?
        public var origin: String?
        public var ip: String?
        public var cost: Int?
    }
    public struct Result: WireObject {
        public var valid: Bool
        public var code: VerifyOutcome
        public var httpStatus: Int
        public var message: String
        public var organizationId: String?
        public var keyId: String?
        public var kind: String?
        public var secretExpiresAt: Date?
        public var capabilities: [String]?
        public var rateLimit: RateLimitState?
        public var retryAfter: Int?
        public var quota: QuotaState?
        public static let fields: [WireField<Result>] = [
            .init("valid", { $0.valid }), .init("code", { $0.code }, "The first check that failed, or valid."),
            .init("httpStatus", { $0.httpStatus }, "What the gateway should answer: 200, 401, 403 or 429."),
            .init("message", { $0.message }, "In the request's language."),
            .init("organizationId", { $0.organizationId }, "null when no key was found."), .init("keyId", { $0.keyId }),
            .init("kind", { $0.kind }),
            .init("secretExpiresAt", { $0.secretExpiresAt }, """
                When the secret sent stops working: one a rotation left in its grace period, of a key neither revoked \
                nor expired. null for the key's current secret. Pass it on (a Sunset header, say) so the integration \
                moves to the new secret in time.
                """),
            .init("capabilities", { $0.capabilities }, "What the key can use on its plan now; null unless valid."),
            .init("rateLimit", { $0.rateLimit }, "null until the rate limit was checked."),
            .init("retryAfter", { $0.retryAfter }, "Seconds until a retry can succeed: when rate limited or over quota."),
            .init("quota", { $0.quota }, "The request quota; null until it was checked or when the plan has none."),
        ]
    }
    public struct RateLimitState: WireObject {
        public var limit: Int
        public var remaining: Int
        public var resetAt: Date
        public static let fields: [WireField<RateLimitState>] = [
            .init("limit", { $0.limit }, "Requests per minute."), .init("remaining", { $0.remaining }),
            .init("resetAt", { $0.resetAt }, "When the full allowance is back."),
        ]
    }
    public struct QuotaState: WireObject {
        public var id: String
        public var limit: Int?
        public var remaining: Int?
        public var resetsAt: Date?
        public static let fields: [WireField<QuotaState>] = [
            .init("id", { $0.id }, oneOf: \.meters), .init("limit", { $0.limit }, "null: unlimited."),
            .init("remaining", { $0.remaining }, "null: unlimited."), .init("resetsAt", { $0.resetsAt }, "null: never resets."),
        ]
    }
}
