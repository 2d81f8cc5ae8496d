public import Foundation
public import KeygateService

public enum CreateKey: RPCMethod {
    public static let name = "keys.create"
    public static let writes = true
    public static let summary = """
        Creates a key if the plan allows it; the only answer that carries its secret. Sent again under its \
        idempotencyKey, it creates nothing: key_already_created names the key (idempotency_key_reused for another call).
        """
    public static let errors = organizationErrors + [
        .invalidName, .unknownKind, .invalidCapabilities, .unknownCapability, .unknownEnvironment, .invalidRateLimit,
        .invalidOrigin, .tooManyOrigins, .invalidExpiry, .invalidActor, .planForbidsAPIKeys, .kindNotAllowed,
        .capabilityNotAllowed, .capabilityNotAllowedForKind, .keyLimitReached, .rateLimitAbovePlan, .lifetimeAbovePlan,
        .invalidIdempotencyKey, .keyAlreadyCreated, .idempotencyKeyReused,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var name: String
        public var kind: String
        public var capabilities: [String]
        public var expiresAt: Date?
        public var rateLimit: Int?
        public var allowedOrigins: [String]?
        public var environment: String?
        public var actor: String?
        public var idempotencyKey: String?
    }
    public struct Result: WireObject {
        public var key: KeyInfo
        public var secret: String
        public static let fields: [WireField<Result>] = [
            .init("key", { $0.key }), .init("secret", { $0.secret }, "The raw key: shown this once, never stored."),
        ]
    }
}

public enum KeyOptionsMethod: RPCMethod {
    public static let name = "keys.options"
    public static let summary = "What the create dialog may offer the organization now, by the same gates as keys.create."
    public static let errors = organizationErrors
    public struct Params: Decodable, Sendable {
        public var organizationId: String
    }
    public struct Result: WireObject {
        public var canCreate: Bool
        public var reason: String?
        public var reasonCode: String?
        public var kinds: [KindOptionInfo]
        public var rateLimit: RateLimit?
        public var maxLifetimeDays: Int?
        public var activeKeys: Int
        public var maxActiveKeys: Int?
        public static let fields: [WireField<Result>] = [
            .init("canCreate", { $0.canCreate }), .init("reason", { $0.reason }, "Why not, in the request's language; null when it can."),
            .init("reasonCode", { $0.reasonCode }, "The error code keys.create would answer; null when it can."),
            .init("kinds", { $0.kinds }), .init("rateLimit", { $0.rateLimit }), .init("maxLifetimeDays", { $0.maxLifetimeDays }),
            .init("activeKeys", { $0.activeKeys }), .init("maxActiveKeys", { $0.maxActiveKeys }, "null: unlimited."),
        ]
    }
}

public enum ListKeys: RPCMethod {
    public static let name = "keys.list"
    public static let summary = "A page of the organization's keys, newest first, with usage; never a secret."
    public static let errors = organizationErrors + [.invalidCursor, .invalidLimit]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var status: KeyStatus?
        public var cursor: String?
        public var limit: Int?
    }
    public struct Result: WireObject {
        public var keys: [KeyInfo]
        public var nextCursor: String?
        public static let fields: [WireField<Result>] = [
            .init("keys", { $0.keys }),
            .init("nextCursor", { $0.nextCursor },
                  "null on the last page. Filtered by status active or suspended, a call reads at most "
                      + "\(KeygateService.statusScanLimit) keys; past them its page may hold fewer keys than limit, "
                      + "even none: follow the cursor until it is null."),
        ]
    }
}

public enum GetKey: RPCMethod {
    public static let name = "keys.get"
    public static let summary = "One key of the organization."
    public static let errors = organizationErrors + [.notFound]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
    }
    public typealias Result = KeyInfo
}

public enum UpdateKey: RPCMethod {
    public static let name = "keys.update"
    public static let writes = true
    public static let summary = "Changes a key's name, capabilities, rate limit, allowed origins or expiry, within the plan."
    public static let errors = organizationErrors + [
        .notFound, .invalidName, .invalidCapabilities, .unknownCapability, .invalidRateLimit, .invalidOrigin,
        .tooManyOrigins, .invalidExpiry, .invalidActor, .keyRevoked, .planForbidsAPIKeys, .capabilityNotAllowed,
        .capabilityNotAllowedForKind, .rateLimitAbovePlan, .lifetimeAbovePlan,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var name: String?
        public var capabilities: [String]?
        public var rateLimit: Int?
        public var allowedOrigins: [String]?
        public var expiresAt: Date?
        public var actor: String?
    }
    public typealias Result = KeyInfo
}

public enum RotateKey: RPCMethod {
    public static let name = "keys.rotate"
    public static let writes = true
    public static let summary = """
        A new secret for the same key; the previous one stops at once or after the grace period. Sent again under its \
        idempotencyKey, it rotates nothing: key_already_rotated names the key (idempotency_key_reused for another call).
        """
    public static let errors = organizationErrors + [
        .notFound, .invalidGracePeriod, .tooManyPreviousSecrets, .invalidActor, .keyRevoked, .keyExpired, .keySuspended,
        .planForbidsAPIKeys, .invalidIdempotencyKey, .keyAlreadyRotated, .idempotencyKeyReused,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var gracePeriodSeconds: Int?
        public var actor: String?
        public var idempotencyKey: String?
    }
    public struct Result: WireObject {
        public var key: KeyInfo
        public var secret: String
        public var previousSecretExpiresAt: Date?
        public static let fields: [WireField<Result>] = [
            .init("key", { $0.key }), .init("secret", { $0.secret }, "The new raw key: shown this once, never stored."),
            .init("previousSecretExpiresAt", { $0.previousSecretExpiresAt }, "null: the previous secret stopped at once."),
        ]
    }
}

public enum StopPreviousSecrets: RPCMethod {
    public static let name = "keys.stopPreviousSecrets"
    public static let writes = true
    public static let summary = """
        Stops at once the secrets earlier rotations left working (the key's previousSecrets), leaving the key and its \
        current secret working: what a leaked earlier secret calls for. With none, changes nothing.
        """
    public static let errors = organizationErrors + [.notFound, .invalidActor, .keyRevoked, .keyExpired]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var actor: String?
    }
    public typealias Result = KeyInfo
}

public enum RevokeKey: RPCMethod {
    public static let name = "keys.revoke"
    public static let writes = true
    public static let summary = "Revokes a key at once and for good; the record stays."
    public static let errors = organizationErrors + [.notFound, .invalidActor]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var actor: String?
    }
    public typealias Result = KeyInfo
}

public enum DeleteKey: RPCMethod {
    public static let name = "keys.delete"
    public static let writes = true
    public static let summary = "Deletes a key and its usage; the audit log keeps that it happened."
    public static let errors = organizationErrors + [.notFound, .invalidActor]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String
        public var actor: String?
    }
    public struct Result: WireObject {
        public var deleted: Bool
        public static let fields: [WireField<Result>] = [.init("deleted", { $0.deleted })]
    }
}

public enum ImportKeys: RPCMethod {
    public static let name = "keys.import"
    public static let writes = true
    public static let summary = """
        Moves in keys issued before Keygate, by the key (hashed, never stored) or its SHA-256 digest, each checked \
        against the plan as a creation; one result per key, in order. Importing a key twice changes nothing.
        """
    public static let errors: [ServiceError.Code] = [.invalidLimit, .storageFailure]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keys: [Key]
        public var actor: String?
    }
    public struct Key: Decodable, Sendable {
        public var name: String
        public var kind: String
        public var capabilities: [String]
        /// The SHA-256 of the whole key, in hex (or base64); or else `key`.
        public var sha256: String?
        public var key: String?
        public var environment: String?
        public var createdAt: Date?
        public var expiresAt: Date?
        public var lastUsedAt: Date?
        public var rateLimit: Int?
        public var allowedOrigins: [String]?
    }
    public enum Status: String, WireEnum {
        case imported
        /// Already here, in this organization; nothing changed.
        case alreadyPresent = "already_present"
        case refused
    }
    public struct Result: WireObject {
        public var results: [Outcome]
        public static let fields: [WireField<Result>] = [.init("results", { $0.results }, "One per key, in order.")]
    }
    public struct Outcome: WireObject {
        public var status: Status
        public var key: KeyInfo?
        public var error: Refusal?
        public static let fields: [WireField<Outcome>] = [
            .init("status", { $0.status }), .init("key", { $0.key }, "The key as stored; null when refused."),
            .init("error", { $0.error }, "Why it was refused, as an error's data; null unless refused."),
        ]
    }
    /// A refusal of one key: what `error.data` would say of it.
    public struct Refusal: WireObject {
        public var code: String
        public var httpStatus: Int
        public var message: String
        public var field: String?
        public static let fields: [WireField<Refusal>] = [
            .init("code", { $0.code }, "Stable, snake_case; see docs/PROTOCOL.md."), .init("httpStatus", { $0.httpStatus }),
            .init("message", { $0.message }, "In the request's language."),
            .init("field", { $0.field }, "The member of the key at fault, such as capabilities or sha256."),
        ]
    }
}

public enum ReportLeakedKeys: RPCMethod {
    public static let name = "keys.reportLeaked"
    public static let writes = true
    public static let summary = """
        Keys a scanning service found in public: for each, whether it is a key of this product, and, if live, \
        revoked (the default) or flagged in its organization's audit log. Answers name no organization.
        """
    public static let errors: [ServiceError.Code] = [.invalidActor, .storageFailure]
    public struct Params: Decodable, Sendable {
        public var keys: [Report]
        public var action: LeakAction?
        public var actor: String?
    }
    public struct Report: Decodable, Sendable {
        public var key: String
        /// Where it was found: a URL, a file and line.
        public var location: String?
    }
    public struct Result: WireObject {
        public var results: [Finding]
        public static let fields: [WireField<Result>] = [.init("results", { $0.results }, "One per reported key, in order.")]
    }
    public struct Finding: WireObject {
        public var hint: String
        public var isKey: Bool
        public var outcome: LeakFinding.Outcome
        public static let fields: [WireField<Finding>] = [
            .init("hint", { $0.hint },
                  "The reported secret's hint (a rotated-out secret's is not the key's), or the redacted text reported."),
            .init("isKey", { $0.isKey }, "A key of this product (true positive)."),
            .init("outcome", { $0.outcome }),
        ]
    }
}
