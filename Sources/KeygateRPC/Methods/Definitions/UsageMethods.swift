public import Foundation
public import KeygateJSON
public import KeygateService

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
