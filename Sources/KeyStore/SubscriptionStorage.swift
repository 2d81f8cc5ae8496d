public import Foundation

/// Where subscriptions, billing events and meter counts live, beside the keys.
public protocol SubscriptionStorage: Sendable {
    /// `nil` for an organization billing never named.
    func subscription(organizationId: String) throws(KeyStoreError) -> SubscriptionRecord?
    /// Applies a billing event at most once, and only if no newer event was
    /// applied before it; all in one transaction.
    func apply(_ event: BillingEvent) throws(KeyStoreError) -> BillingOutcome
    /// The counts of several meters, each for its own period (0 when nothing was counted).
    func readings(organizationId: String, periods: [(meter: String, periodStart: Date)]) throws(KeyStoreError) -> [MeterReading]
    /// The counts of `meter` that flushes after count version `after`, up to
    /// `through` (both ``ChangeToken/counts``), added to, as they are now,
    /// one per organization and period: what verification reads to keep the
    /// counts it holds current after a flush, here or in another process,
    /// without reading each organization's count again. (Counts recorded
    /// with ``add(_:to:periodStart:organizationId:idempotencyKey:reserve:limit:)``
    /// move no version: those meters are read with ``readings(organizationId:periods:)``.)
    func meterChanges(meter: String, after: Int64, through: Int64) throws(KeyStoreError) -> [MeterChange]
    /// Adds to a meter's count for a period, once per idempotency key.
    /// Returns the count after it, and whether this key had been used before
    /// for the same meter, amount and `reserve` (for another:
    /// `idempotency_key_reused`). With `reserve`, the amount is added only
    /// if the count stays within `limit` (`nil`: the meter has none), else
    /// `quota_exceeded` and nothing is recorded, checked atomically.
    func add(
        _ amount: Int, to meter: String, periodStart: Date, organizationId: String, idempotencyKey: String,
        reserve: Bool, limit: Int?
    ) throws(KeyStoreError) -> (used: Int, replayed: Bool)
    /// Moves a meter's counts stored under periods starting after
    /// `periodStart` and before `periodEnd` (`nil`: any time after) into
    /// the one starting at `periodStart`, and moves the count version as a
    /// flush does (``meterChanges(meter:after:through:)`` then reports
    /// that period). Returns the amount moved and that period's count
    /// after it. What billing moving a period's start earlier calls for:
    /// uses counted since then under the later start belong to the period
    /// that now holds them, and would otherwise be counted nowhere.
    func carryCounts(organizationId: String, meter: String, into periodStart: Date, before periodEnd: Date?)
        throws(KeyStoreError) -> (moved: Int, used: Int)
    /// Adds buffered key usage and meter counts, each exactly once.
    /// `identity` names this flush: the store remembers it with the counts,
    /// and a flush whose identity it already holds adds nothing, so a flush
    /// tried again after its outcome was unknown (a commit whose
    /// acknowledgement was lost) is never counted twice. A store may write
    /// keys' counts and meters in separate transactions (SQLite's usage
    /// file), each remembering the identity: then a failed flush may have
    /// written one part, and sent again it adds the other.
    ///
    /// `changesSeen` is the change-log position (``ChangeToken/keys``) up
    /// to which the counting process knew of erasures when it took the
    /// counts (where it had caught up, or, if it started over since, where
    /// it stood before): the meters of an organization erased by a later
    /// entry the log still holds were counted before the erasure and are
    /// not written, nor their thresholds announced; `nil` writes every
    /// meter. An erasure waits for a flush under way, or the flush sees
    /// the erasure: none of its meters outlives it.
    func flush(usage: [UsageIncrement], meters: [MeterIncrement], identity: String, changesSeen: Int64?)
        throws(KeyStoreError)
    /// Called once a flush has written all its batches: a store with a
    /// write-ahead log (SQLite) copies it into the database here, on the
    /// flushing thread, rather than inside whichever commit next fills it
    /// (a `keys.update` would wait for that). Nothing for PostgreSQL.
    func checkpoint()
    /// Live keys (neither revoked nor expired) of these kinds, oldest first,
    /// at most `limit`.
    func liveKeyIds(organizationId: String, kinds: [String], limit: Int) throws(KeyStoreError) -> [String]
    /// When the first of the organization's live keys of these kinds
    /// expires, which changes which keys are within a plan's maximum.
    func nextExpiry(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Date?
    /// How many live keys of these kinds the organization has.
    func liveKeyCount(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Int

    /// ``subscription(organizationId:)`` for several organizations, by id
    /// (one billing never named is absent). With the two below, what
    /// verification reads of the organizations of a pipelined read's keys
    /// where the store ``KeyStorage/looksUpTogether``; by default one read
    /// each.
    func subscriptions(organizationIds: [String]) throws(KeyStoreError) -> [String: SubscriptionRecord]
    /// ``liveKeyIds(organizationId:kinds:limit:)`` for several
    /// organizations, each with its own kinds and limit, in their order.
    func liveKeyIds(_ queries: [LiveKeyQuery]) throws(KeyStoreError) -> [[String]]
    /// The count of one meter period each, for several organizations, in
    /// their order (0 when nothing was counted).
    func readings(_ queries: [MeterQuery]) throws(KeyStoreError) -> [Int]

    /// Records that this process runs with each of `settings` now (each
    /// one's ``SettingInUse/seenAt`` set by the store's clock), one row per
    /// name and value, and returns the rows of the same names with other
    /// values recorded within `window` before now, most recent first:
    /// empty while every process that recorded them lately runs with the
    /// same. Forgets values not recorded for ``SettingInUse/retention``.
    /// `information` is recorded beside them, one row per process and
    /// name only (``StoreStatus/processes``): what explains how the process
    /// behaves without having to agree with the others (its cache size,
    /// its freshness), compared with nothing and never returned here.
    /// One small write: call it now and then (`keygate serve` does at each
    /// event sweep), never per request.
    func recordSettings(_ settings: [SettingInUse], information: [SettingInUse], within window: TimeInterval)
        throws(KeyStoreError) -> [SettingInUse]

    /// Forgets the deliveries received before `before` that a retry can
    /// no longer be told by: the uses ``add(_:to:periodStart:organizationId:idempotencyKey:reserve:limit:)``
    /// remembers by idempotency key (sent again, one counts again), and
    /// the billing event ids ``apply(_:)`` remembers but those dated at or
    /// after the last event applied to their organization (sent again, a
    /// forgotten one is ``BillingOutcome/stale(_:)`` and changes nothing,
    /// as its replay would not have), and the creations
    /// ``KeyStorage/create(_:limit:)`` remembers by idempotency key (sent
    /// again, one makes a new key). What a retention of idempotency keys
    /// keeps.
    ///
    /// One step of a pass: up to `rows` uses after `cursor` (`nil`: from
    /// the first), or, once past the last use, up to `rows` billing event
    /// ids, then creations, in one transaction. Any number of processes
    /// may run passes at once.
    func forgetDeliveries(before: Date, after cursor: DeliveryCursor?, rows: Int) throws(KeyStoreError)
        -> DeliveryForgetting
    /// How far the store's clock is from the database server's, where
    /// processes on other hosts share the server (PostgreSQL); `nil` for
    /// a store on this host (SQLite), whose processes share this clock.
    /// A few reads of the server's clock: call it now and then (`keygate
    /// serve` does at each event sweep), never per request.
    func clockOffset() throws(KeyStoreError) -> ClockOffset?
}

extension SubscriptionStorage {
    /// ``flush(usage:meters:identity:changesSeen:)`` writing every meter:
    /// for counts taken by no verification cache (a tool, a test).
    public func flush(usage: [UsageIncrement], meters: [MeterIncrement], identity: String) throws(KeyStoreError) {
        try flush(usage: usage, meters: meters, identity: identity, changesSeen: nil)
    }

    /// A store on this host: no other clock to be off from.
    public func clockOffset() throws(KeyStoreError) -> ClockOffset? { nil }

    /// ``recordSettings(_:information:within:)`` with no information.
    public func recordSettings(_ settings: [SettingInUse], within window: TimeInterval) throws(KeyStoreError) -> [SettingInUse] {
        try recordSettings(settings, information: [], within: window)
    }
}

/// An organization's live keys of some kinds, oldest first, at most `limit`.
public typealias LiveKeyQuery = (organizationId: String, kinds: [String], limit: Int)
/// An organization's count of one meter in one period (its start, in the service's reckoning).
public typealias MeterQuery = (organizationId: String, meter: String, periodStart: Date)

extension SubscriptionStorage {
    public func subscriptions(organizationIds: [String]) throws(KeyStoreError) -> [String: SubscriptionRecord] {
        var records: [String: SubscriptionRecord] = [:]
        for id in organizationIds {
            if let record = try subscription(organizationId: id) { records[id] = record }
        }
        return records
    }

    public func liveKeyIds(_ queries: [LiveKeyQuery]) throws(KeyStoreError) -> [[String]] {
        try queries.map { query throws(KeyStoreError) in
            try liveKeyIds(organizationId: query.organizationId, kinds: query.kinds, limit: query.limit)
        }
    }

    public func readings(_ queries: [MeterQuery]) throws(KeyStoreError) -> [Int] {
        try queries.map { query throws(KeyStoreError) in
            try readings(organizationId: query.organizationId, periods: [(query.meter, query.periodStart)]).first?.used ?? 0
        }
    }
}

/// Everything the service layer needs from storage.
public typealias KeygateStorage = KeyStorage & SubscriptionStorage

/// Counts to add to meters, without idempotency: the verification path's
/// buffered request counts.
public struct MeterIncrement: Sendable, Hashable {
    public var organizationId: String
    public var meter: String
    public var periodStart: Date
    public var amount: Int
    /// The quota's limit in the period, if it has one: crossing 80% and
    /// 100% of it writes a `quota.threshold` event in the same flush.
    public var limit: Int?

    public init(organizationId: String, meter: String, periodStart: Date, amount: Int, limit: Int? = nil) {
        self.organizationId = organizationId
        self.meter = meter
        self.periodStart = periodStart
        self.amount = amount
        self.limit = limit
    }
}
