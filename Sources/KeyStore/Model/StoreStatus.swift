public import Foundation

/// What a database holds and which settings the processes on it record,
/// read without changing it (`keygate status`): what an operator checks
/// before, during and after an upgrade rolls through the processes that
/// share it.
public struct StoreStatus: Sendable, Hashable {
    /// The database's schema against this build's.
    public enum Schema: Sendable, Hashable {
        /// No Keygate schema yet: the first process to open the database creates it.
        case empty
        /// Migrated as far as this build migrates: `latest` is its last migration.
        case current(latest: String)
        /// Migrated by an earlier Keygate, up to `latest`: the next process
        /// of this build to open it applies `pending`, in order.
        case behind(latest: String, pending: [String])
        /// Migrated by a later Keygate: `unknown` are the migrations this
        /// build does not know, and it refuses to open the database.
        case ahead(unknown: [String])
    }

    /// The database's schema against this build's.
    public var schema: Schema
    /// Keys, whatever their status.
    public var keys: Int
    /// Organizations with a subscription.
    public var organizations: Int
    /// The settings processes recorded within the window asked for, most
    /// recent first (``SubscriptionStorage/recordSettings(_:within:)``);
    /// `nil` where the schema is too old to hold them.
    public var settings: [SettingInUse]?
    /// Each process's settings recorded within the window, a row per
    /// process and setting, most recent first; `nil` where the schema is
    /// too old to hold them. Processes of a keygate that records only
    /// ``settings`` (schema v17 on SQLite, 15 on PostgreSQL) are missing here.
    public var processes: [SettingInUse]?
    /// What the store remembers so that a retry is told from a new call,
    /// in the order a pass forgets them
    /// (``SubscriptionStorage/forgetDeliveries(before:after:rows:)``): only
    /// what the schema holds, none where it is empty.
    public var remembered: [RememberedCount]
    /// How much the audit log holds, and since when: what
    /// `--audit-retention-days` prunes.
    public var auditLog: AuditLogCount

    public init(schema: Schema, keys: Int, organizations: Int, settings: [SettingInUse]?,
                processes: [SettingInUse]? = nil, remembered: [RememberedCount] = [],
                auditLog: AuditLogCount = AuditLogCount(entries: 0, more: false, firstAt: nil)) {
        self.schema = schema
        self.keys = keys
        self.organizations = organizations
        self.settings = settings
        self.processes = processes
        self.remembered = remembered
        self.auditLog = auditLog
    }
}

/// The audit log's entries, every organization's, counted up to
/// ``RememberedCount/countedUpTo`` as the remembered calls are, and when
/// its first entry was written.
public struct AuditLogCount: Sendable, Hashable {
    /// The entries counted.
    public var entries: Int
    /// Whether the log holds more than `entries`, where counting stopped.
    public var more: Bool
    /// When the log's first entry (by position, where pruning starts) was
    /// written; `nil` while it is empty.
    public var firstAt: Date?

    public init(entries: Int, more: Bool, firstAt: Date?) {
        self.entries = entries
        self.more = more
        self.firstAt = firstAt
    }

    /// The count from `counted`, the entries a count of at most `limit` + 1 found.
    package init(counted: Int, limit: Int, firstAt: Date?) {
        self.init(entries: min(counted, limit), more: counted > limit, firstAt: firstAt)
    }
}

/// How many calls of one kind a store remembers for their retries, each
/// until `--idempotency-retention-days` forgets it, counted up to
/// ``countedUpTo`` rows: a status reads no more than that of a table, so it
/// stays quick where they are remembered for good.
public struct RememberedCount: Sendable, Hashable {
    /// What is remembered.
    public enum Calls: String, Sendable, CaseIterable {
        /// `usage.record` uses, by idempotency key.
        case uses
        /// Billing event ids `subscriptions.setPlan` received.
        case billingEvents
        /// `keys.create` calls, by idempotency key.
        case creations
        /// `keys.rotate` calls, by idempotency key.
        case rotations

        /// The table that holds them, on either store.
        package var table: String {
            switch self {
            case .uses: RememberedCalls.uses.table
            case .billingEvents: "billing_event"
            case .creations: RememberedCalls.creations.table
            case .rotations: RememberedCalls.rotations.table
            }
        }
    }

    /// How many rows of a table a status counts, at most.
    public static let countedUpTo = 1_000_000

    public var calls: Calls
    /// The rows counted.
    public var rows: Int
    /// Whether the table holds more than `rows`, where counting stopped.
    public var more: Bool

    public init(calls: Calls, rows: Int, more: Bool) {
        self.calls = calls
        self.rows = rows
        self.more = more
    }

    /// The count of `calls` from `counted`, the rows a count of at most
    /// `limit` + 1 found.
    package init(calls: Calls, counted: Int, limit: Int) {
        self.init(calls: calls, rows: min(counted, limit), more: counted > limit)
    }
}
