public import Foundation
public import KeyStore
public import KeygateJSON
public import KeygateService

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
