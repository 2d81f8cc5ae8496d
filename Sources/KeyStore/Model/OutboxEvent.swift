public import Foundation
public import KeygateJSON

/// Something that happened to an organization's keys or quotas, for the
/// product to act on (an email, a webhook): the transactional outbox. Each
/// is written in the same transaction as the change that causes it, so an
/// event exists exactly when its change does.
public struct OutboxEvent: Sendable, Hashable {
    /// Stable across reads and retries: `evt_…`. Consumers deduplicate by it.
    public let id: String
    public let type: EventType
    public let organizationId: String
    public let at: Date
    /// The key it concerns, if one.
    public let keyId: String?
    /// A small object whose members differ by type (docs/PROTOCOL.md).
    public let data: JSON
    /// Pass it back to read the events after this one.
    public let cursor: String

    /// For the stores of this package, which build it from what they read.
    package init(id: String, type: EventType, organizationId: String, at: Date, keyId: String?, data: JSON, cursor: String) {
        self.id = id
        self.type = type
        self.organizationId = organizationId
        self.at = at
        self.keyId = keyId
        self.data = data
        self.cursor = cursor
    }
}

/// What kind of thing happened.
public struct EventType: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static let keyCreated = EventType(rawValue: "key.created")
    public static let keyImported = EventType(rawValue: "key.imported")
    /// `keys.update` changed the key (`data.changes`, each field changed
    /// from what to what); an update that changes nothing writes none.
    public static let keyUpdated = EventType(rawValue: "key.updated")
    public static let keyRotated = EventType(rawValue: "key.rotated")
    /// The secrets rotations had left working were stopped before their
    /// deadlines (`data.secrets`), the key itself left working.
    public static let keyPreviousSecretsStopped = EventType(rawValue: "key.previous_secrets_stopped")
    public static let keyRevoked = EventType(rawValue: "key.revoked")
    public static let keyDeleted = EventType(rawValue: "key.deleted")
    /// A scanning service reported the key live: `data.action` says whether
    /// it was revoked (a `key.revoked` comes with it) or flagged.
    public static let keyLeakReported = EventType(rawValue: "key.leak_reported")
    /// A billing event changed the plan in force (`data.plan`, from
    /// `data.previousPlan`): another plan, or the default one for a
    /// canceled subscription. Before the keys it suspends or restores.
    public static let planChanged = EventType(rawValue: "plan.changed")
    /// A plan change suspended keys (`data.keyIds`); one event per change.
    public static let keysSuspended = EventType(rawValue: "keys.suspended")
    /// A plan change brought suspended keys back.
    public static let keysRestored = EventType(rawValue: "keys.restored")
    /// The key expires within seven days; once per key and expiry.
    public static let keyExpiring = EventType(rawValue: "key.expiring")
    public static let keyExpired = EventType(rawValue: "key.expired")
    /// A quota's use crossed 80% or 100% of its limit in its period; once
    /// per threshold and period.
    public static let quotaThreshold = EventType(rawValue: "quota.threshold")
    /// `organizations.erase` erased the organization (`data.keys`, how
    /// many keys): its events before this one are gone, unread or not.
    public static let organizationErased = EventType(rawValue: "organization.erased")

    /// Every type, in the order the contract lists them.
    public static let all: [EventType] = [
        .keyCreated, .keyImported, .keyUpdated, .keyRotated, .keyPreviousSecretsStopped, .keyRevoked, .keyDeleted,
        .keyLeakReported, .planChanged, .keysSuspended, .keysRestored, .keyExpiring, .keyExpired, .quotaThreshold,
        .organizationErased,
    ]
}

/// An event to write (``KeyStorage/appendEvent(_:)``).
public struct NewEvent: Sendable, Hashable {
    public var type: EventType
    public var organizationId: String
    public var keyId: String?
    public var data: [String: JSON]
    /// Events with the same key are written once: the first one wins.
    public var once: String?

    public init(type: EventType, organizationId: String, keyId: String? = nil, data: [String: JSON], once: String? = nil) {
        self.type = type
        self.organizationId = organizationId
        self.keyId = keyId
        self.data = data
        self.once = once
    }
}

/// Events in the order they were written, after a cursor.
public struct EventPage: Sendable {
    public let events: [OutboxEvent]
    /// Where the next read starts: after the last event here, or where
    /// this read started when there was none. `nil` only when there was
    /// none and no cursor was given. A page of some types starts the next
    /// read after every event it read, of any type.
    public let nextCursor: String?
    /// Whether more events are already waiting after this page: for a page
    /// of some types, events not yet read, which may be of other types.
    public let hasMore: Bool

    /// The most events a page of some types reads past its cursor, of any
    /// type: such a page may hold fewer events than its limit, even none,
    /// with ``hasMore`` set.
    public static let readBound = 1_000

    /// For the stores of this package.
    package init(events: [OutboxEvent], nextCursor: String?, hasMore: Bool) {
        self.events = events
        self.nextCursor = nextCursor
        self.hasMore = hasMore
    }
}

/// How a page of events is cut from the outbox, the same for every store:
/// the store reads the events after the cursor in order and keeps those
/// of the types asked for (all, without types) until the page has one
/// past its limit, or, with types, until it has read
/// ``EventPage/readBound`` events.
///
/// A page of a rare type must not become a walk over the whole outbox (a
/// month of events, when a consumer starts from the beginning): so a page
/// of some types reads a bounded stretch. It may then hold fewer events
/// than its limit, even none, while `hasMore` says to read again, from a
/// cursor past every event it read, so no event is read twice.
package struct EventScan {
    private let types: Set<EventType>?
    private let limit: Int
    /// Events of the types asked for, so far.
    private var kept = 0
    /// Events read, of any type, so far.
    private var read = 0
    /// Where the last event read, of any type, stands.
    private var last: Int64?

    /// `types`: `nil` for all.
    package init(types: Set<EventType>?, limit: Int) {
        self.types = types
        self.limit = limit
    }

    /// How many rows a store's read asks for: one past the limit, or with
    /// types one past the bound, to tell a stretch that ended there from
    /// one that goes on.
    package var rows: Int { types == nil ? limit + 1 : EventPage.readBound + 1 }

    /// What to do with an event read.
    package enum Visit: Equatable {
        /// Of a type asked for: the page holds it.
        case keep
        /// Of another type: read on.
        case skip
        /// The page is decided (an event past its limit, or past the
        /// bound): this one is not on it, and the store stops reading.
        case stop
    }

    /// Takes the next event read, in order.
    package mutating func visit(position: Int64, type: EventType) -> Visit {
        read += 1
        guard read <= EventPage.readBound else { return .stop }
        last = position
        guard types?.contains(type) ?? true else { return .skip }
        kept += 1
        return kept > limit ? .stop : .keep
    }

    /// The page, given the events kept, in order, and the cursor the read
    /// began at.
    package func page(_ events: [OutboxEvent], after cursor: String?) -> EventPage {
        let held = Array(events.prefix(limit))
        if kept > limit {
            return EventPage(events: held, nextCursor: held.last?.cursor ?? cursor, hasMore: true)
        }
        // Past everything read, of any type: the next page starts after it.
        return EventPage(events: held, nextCursor: last.map(StorageCoding.cursor) ?? cursor,
                         hasMore: read > EventPage.readBound)
    }
}

/// How long events are kept and when time-based ones are due.
public struct EventSchedule: Sendable, Hashable {
    /// Events older than this are deleted. Default: 30 days.
    public var retention: TimeInterval
    /// A key expiring within this is announced (`key.expiring`). Default: 7 days.
    public var expiryNotice: TimeInterval

    public static let defaultRetention: TimeInterval = 30 * 86_400
    public static let defaultExpiryNotice: TimeInterval = 7 * 86_400

    public init(retention: TimeInterval = defaultRetention, expiryNotice: TimeInterval = defaultExpiryNotice) {
        self.retention = retention
        self.expiryNotice = expiryNotice
    }
}
