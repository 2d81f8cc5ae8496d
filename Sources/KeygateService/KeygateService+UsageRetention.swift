import Foundation
public import KeyStore

extension KeygateService {
    /// How many days past the retention a key's usage by day waits before
    /// it is folded: a key's rows are rewritten once for a month of days,
    /// not each day for one.
    public static let usageFoldingDelayDays = 30

    /// One step of a pass that keeps keys' usage by day for the last
    /// `days` UTC days, today included, and folds older days into each
    /// key's totals: a key's `usage` and last use stay as they were, while
    /// `usage.get` answers the folded days as unused. A key's days are
    /// folded once ``usageFoldingDelayDays`` of them are past the
    /// retention, so `usage.get` has between `days` and `days` + 30 days.
    ///
    /// A pass goes through the keys in order, `keys` of them a step (one
    /// transaction) after `cursor`; pass each step's ``UsageFold/next`` to
    /// the next, until it is `nil`. `keygate serve` runs passes when given
    /// `--usage-retention-days`; any number of processes may.
    ///
    /// - Precondition: `days` is at least 1.
    public func foldUsage(keepingDays days: Int, after cursor: String?, keys: Int = 1_000) throws(ServiceError) -> UsageFold {
        precondition(days >= 1, "a retention keeps at least today")
        let today = QuotaCalendar.startOfDay(clock.now())
        let firstKept = today.addingTimeInterval(-TimeInterval(days - 1) * 86_400)
        let due = firstKept.addingTimeInterval(-TimeInterval(Self.usageFoldingDelayDays) * 86_400)
        return try store { () throws(KeyStoreError) in
            try storage.foldUsage(before: firstKept, due: due, after: cursor, keys: keys)
        }
    }

    /// One step of a pass that forgets the idempotency keys `usage.record`,
    /// billing events and `keys.create` used more than `days` days ago (a
    /// retry after that is a new call: a use counts again; a billing event
    /// older than its organization's last is `stale_event` and changes
    /// nothing, and ids of the last date are kept; a creation makes a new
    /// key). Pass each step's
    /// ``DeliveryForgetting/next`` to the next, until it is `nil`.
    /// `keygate serve` runs passes when given `--idempotency-retention-days`;
    /// any number of processes may.
    ///
    /// - Precondition: `days` is at least 1.
    public func forgetDeliveries(keepingDays days: Int, after cursor: DeliveryCursor?, rows: Int = 1_000)
        throws(ServiceError) -> DeliveryForgetting
    {
        precondition(days >= 1, "a retention keeps at least a day")
        let before = clock.now().addingTimeInterval(-TimeInterval(days) * 86_400)
        return try store { () throws(KeyStoreError) in
            try storage.forgetDeliveries(before: before, after: cursor, rows: rows)
        }
    }

    /// How many audit entries a step of ``pruneAudit(keepingDays:after:entries:)``
    /// deletes at most: each deletion rewrites a page of each of the log's
    /// indexes, wherever its organization and key lie, about 30 µs an
    /// entry on SQLite, whose one writer a step holds meanwhile; 250 hold
    /// it about 7 ms (docs/PERFORMANCE.md).
    public static let auditPruningStep = 250

    /// One step of a pass that deletes the audit entries, every
    /// organization's, written more than `days` days ago, oldest first:
    /// `audit.list` no longer has them. Pass each step's
    /// ``AuditPruning/next`` to the next, until it is `nil`. `keygate
    /// serve` runs passes when given `--audit-retention-days`; any number
    /// of processes may.
    ///
    /// - Precondition: `days` is at least 1.
    public func pruneAudit(keepingDays days: Int, after cursor: Int64?, entries: Int = auditPruningStep)
        throws(ServiceError) -> AuditPruning
    {
        precondition(days >= 1, "a retention keeps at least a day")
        let before = clock.now().addingTimeInterval(-TimeInterval(days) * 86_400)
        return try store { () throws(KeyStoreError) in
            try storage.pruneAudit(before: before, after: cursor, entries: entries)
        }
    }
}
