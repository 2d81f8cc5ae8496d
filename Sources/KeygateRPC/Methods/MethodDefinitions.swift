public import Foundation
public import KeyStore
public import KeygateJSON
public import KeygateService

// Every method of the contract (docs/PROTOCOL.md): its name, summary, the
// types of its params and result, and the error codes it can answer. The
// handlers are in KeygateMethods; rpc.discover is generated from these.

/// Error codes that a method working on one organization can answer.
private let organizationErrors: [ServiceError.Code] = [.invalidOrganizationId, .storageFailure]

public enum CatalogPlans: RPCMethod {
    public static let name = "catalog.plans"
    public static let summary = "The plans of the catalog and what each allows."
    public struct Params: Decodable, Sendable {}
    public struct Result: WireObject {
        public var defaultPlan: String
        public var plans: [PlanInfo]
        public static let fields: [WireField<Result>] = [
            .init("defaultPlan", { $0.defaultPlan }, oneOf: \.plans), .init("plans", { $0.plans }),
        ]
    }
}

public enum CatalogCapabilities: RPCMethod {
    public static let name = "catalog.capabilities"
    public static let summary = "The capabilities keys may carry and the kinds of keys."
    public struct Params: Decodable, Sendable {}
    public struct Result: WireObject {
        public var capabilities: [CapabilityInfo]
        public var kinds: [KindInfo]
        public static let fields: [WireField<Result>] = [.init("capabilities", { $0.capabilities }), .init("kinds", { $0.kinds })]
    }
}

public enum GetSubscription: RPCMethod {
    public static let name = "subscriptions.get"
    public static let summary = "An organization's plan in force, what billing named and its status; one billing never named is on the default plan."
    public static let errors = organizationErrors
    public struct Params: Decodable, Sendable {
        public var organizationId: String
    }
    public typealias Result = SubscriptionInfo
}

public enum SetPlan: RPCMethod {
    public static let name = "subscriptions.setPlan"
    public static let writes = true
    public static let summary = "Billing moves an organization to a plan; idempotent per eventId (an id sent again with another event is event_id_reused), ordered by occurredAt."
    public static let errors = organizationErrors + [
        .unknownPlan, .invalidEventId, .eventIdReused, .eventInFuture, .invalidPeriod, .invalidActor,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var plan: String
        public var eventId: String
        public var occurredAt: Date
        public var status: SubscriptionStatus?
        public var periodStart: Date?
        public var periodEnd: Date?
        public var actor: String?
    }
    /// Why an event changed nothing.
    public enum NotApplied: String, WireEnum {
        case duplicateEvent = "duplicate_event"
        case staleEvent = "stale_event"
    }
    public struct Result: WireObject {
        public var subscription: SubscriptionInfo
        public var applied: Bool
        public var reason: NotApplied?
        public static let fields: [WireField<Result>] = [
            .init("subscription", { $0.subscription }), .init("applied", { $0.applied }),
            .init("reason", { $0.reason }, "null when applied."),
        ]
    }
}

public enum PreviewPlan: RPCMethod {
    public static let name = "subscriptions.preview"
    public static let summary = "What moving an organization to a plan would suspend, restore and take away; changes nothing."
    public static let errors = organizationErrors + [.unknownPlan]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var plan: String
    }
    public struct Result: WireObject {
        public var from: String
        public var to: String
        public var suspendedKeys: [String]
        public var restoredKeys: [String]
        public var lostCapabilities: [LostCapabilities]
        public var capabilitiesLost: [String]
        public var quotaChanges: [QuotaChange]
        public static let fields: [WireField<Result>] = [
            .init("from", { $0.from }, oneOf: \.plans), .init("to", { $0.to }, oneOf: \.plans),
            .init("suspendedKeys", { $0.suspendedKeys }, "Keys working now that the plan would suspend."),
            .init("restoredKeys", { $0.restoredKeys }, "Keys suspended now that the plan would bring back."),
            .init("lostCapabilities", { $0.lostCapabilities }, "Keys that keep working but lose capabilities they use now."),
            .init("capabilitiesLost", { $0.capabilitiesLost },
                  "Every capability the organization's keys can use now and could not on the plan, suspended keys included."),
            .init("quotaChanges", { $0.quotaChanges }),
        ]
    }
    public struct LostCapabilities: WireObject {
        public var keyId: String
        public var capabilities: [String]
        public static let fields: [WireField<LostCapabilities>] = [
            .init("keyId", { $0.keyId }), .init("capabilities", { $0.capabilities }),
        ]
    }
    public struct QuotaChange: WireObject {
        public var id: String
        public var from: PlanInfo.Quota?
        public var to: PlanInfo.Quota?
        public static let fields: [WireField<QuotaChange>] = [
            .init("id", { $0.id }, oneOf: \.meters), .init("from", { $0.from }), .init("to", { $0.to }),
        ]
    }
}

public enum GetQuotas: RPCMethod {
    public static let name = "subscriptions.quotas"
    public static let summary = "Plan in force, status, period and every quota with what is used; by organization, or by a key carrying subscription.read."
    public static let errors = organizationErrors + [.invalidKey, .planSuspended, .insufficientCapability]
    public struct Params: Decodable, Sendable {
        public var organizationId: String?
        public var key: String?
    }
    public struct Result: WireObject {
        public var plan: String
        public var planName: String
        public var billedPlan: String
        public var status: SubscriptionStatus
        public var periodStart: Date?
        public var periodEnd: Date?
        public var quotas: [QuotaInfo]
        public static let fields: [WireField<Result>] = [
            .init("plan", { $0.plan }, oneOf: \.plans, "The plan in force, whose quotas these are."),
            .init("planName", { $0.planName }), .init("billedPlan", { $0.billedPlan }, "The plan billing last named."),
            .init("status", { $0.status }), .init("periodStart", { $0.periodStart }), .init("periodEnd", { $0.periodEnd }),
            .init("quotas", { $0.quotas }),
        ]
    }
}

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

public enum RecordUsage: RPCMethod {
    public static let name = "usage.record"
    public static let writes = true
    public static let summary = "Adds to a meter the product reports, once per idempotency key (a key sent again with another call is idempotency_key_reused); with reserve, only if it fits the quota."
    public static let errors = organizationErrors + [
        .unknownMeter, .meterNotRecordable, .invalidAmount, .invalidIdempotencyKey, .idempotencyKeyReused, .quotaExceeded,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var meter: String
        public var amount: Int
        public var idempotencyKey: String
        public var reserve: Bool?
    }
    public typealias Result = QuotaInfo
}

public enum GetUsage: RPCMethod {
    public static let name = "usage.get"
    public static let summary = """
        Verification counts per UTC day (YYYY-MM-DD, inclusive), for one key or the organization, with the invalid \
        ones by the code that refused them and all by the capability they asked for.
        """
    public static let errors = organizationErrors + [.invalidDateRange, .notFound]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String?
        public var from: UTCDay
        public var to: UTCDay
    }
    public struct Result: WireObject {
        public var days: [Day]
        public static let fields: [WireField<Result>] = [.init("days", { $0.days })]
    }
    public struct Day: WireObject {
        public var date: String
        public var keyId: String?
        public var valid: Int
        public var invalid: Int
        public var refusals: [String: Int]
        public var capabilities: [String: Int]
        public static let fields: [WireField<Day>] = [
            .init("date", { $0.date }, format: "date", "YYYY-MM-DD, UTC."), .init("keyId", { $0.keyId }, "null: the whole organization."),
            .init("valid", { $0.valid }), .init("invalid", { $0.invalid }),
            .init("refusals", { $0.refusals },
                  "The invalid ones by the verification code that refused them (revoked, rate_limited, …); codes with none are left out."),
            .init("capabilities", { $0.capabilities },
                  "Verifications, valid or not, by the capability they asked for or their route's; "
                      + "one the catalog does not define is counted under none."),
        ]
    }
}

public enum ListAudit: RPCMethod {
    public static let name = "audit.list"
    public static let summary = """
        The organization's audit log, newest first; with keyId, that key's entries alone \
        (a deleted key's remain; an id that names no key has none).
        """
    public static let errors = organizationErrors + [.invalidCursor, .invalidLimit]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var keyId: String?
        public var cursor: String?
        public var limit: Int?
    }
    public struct Result: WireObject {
        public var entries: [Entry]
        public var nextCursor: String?
        public static let fields: [WireField<Result>] = [
            .init("entries", { $0.entries }), .init("nextCursor", { $0.nextCursor }, "null on the last page."),
        ]
    }
    public struct Entry: WireObject {
        public var at: Date
        public var actor: String
        public var action: String
        public var keyId: String?
        public var details: JSON
        public static let fields: [WireField<Entry>] = [
            .init("at", { $0.at }), .init("actor", { $0.actor }), .init("action", { $0.action }, oneOf: \.auditActions),
            .init("keyId", { $0.keyId }, "null for subscription changes."),
            .init("details", { $0.details }, "What changed; members differ by action."),
        ]
    }
}

public enum ListEvents: RPCMethod {
    public static let name = "events.list"
    public static let summary = """
        The outbox: events after a cursor in commit order, of one organization or of all, for emails and webhooks. \
        At least once: keep the cursor of the last event handled, deduplicate by id. \
        With types, only those: a page then reads at most \(EventPage.readBound) events past its cursor, \
        so it may hold fewer than the limit, even none, with hasMore set.
        """
    public static let errors: [ServiceError.Code] = [
        .invalidOrganizationId, .invalidCursor, .cursorExpired, .invalidLimit, .storageFailure,
    ]
    public struct Params: Decodable, Sendable {
        public var organizationId: String?
        public var types: NonEmptyList<EventType>?
        public var cursor: String?
        public var limit: Int?
    }
    public struct Result: WireObject {
        public var events: [Event]
        public var nextCursor: String?
        public var hasMore: Bool
        public static let fields: [WireField<Result>] = [
            .init("events", { $0.events }, "Oldest first."),
            .init("nextCursor", { $0.nextCursor }, """
                Where the next read starts: after the last event here, or the cursor given when there was none. \
                With types, after every event read, of any type.
                """),
            .init("hasMore", { $0.hasMore }, "More events are waiting now: read again at once. With types, they may be of other types."),
        ]
    }
    public struct Event: WireObject {
        public var id: String
        public var type: String
        public var organizationId: String
        public var at: Date
        public var keyId: String?
        public var data: JSON
        public var message: String
        public static let fields: [WireField<Event>] = [
            .init("id", { $0.id }, "Stable: the same event always has the same id."),
            .init("type", { $0.type }, oneOf: \.eventTypes), .init("organizationId", { $0.organizationId }),
            .init("at", { $0.at }), .init("keyId", { $0.keyId }, "null when the event is not about one key."),
            .init("data", { $0.data }, "What happened; members differ by type (docs/PROTOCOL.md)."),
            .init("message", { $0.message }, "What happened, in the request's language."),
        ]
        /// The members, and `data` by `type`.
        public static func schema(_ context: SchemaContext) -> JSON {
            EventDataSchema.event(base: Schema.object(fields.map { ($0.name, $0.schema(context)) }, required: fields.map(\.name)))
        }
    }
}

public enum EraseOrganization: RPCMethod {
    public static let name = "organizations.erase"
    public static let writes = true
    public static let summary = """
        Erases everything stored of an organization, in one transaction: its keys (none verifies again, in any process), \
        their secrets and usage, its subscription, meters, remembered calls, audit log and events. \
        One audit entry and one organization.erased event say that it happened, and how many keys went. \
        Whatever the plan; erasing again erases what came since.
        """
    public static let errors = organizationErrors + [.invalidActor]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var actor: String?
    }
    public struct Result: WireObject {
        public var erased: Bool
        public var keys: Int
        public static let fields: [WireField<Result>] = [
            .init("erased", { $0.erased }), .init("keys", { $0.keys }, "The keys erased, whatever their state."),
        ]
    }
}
