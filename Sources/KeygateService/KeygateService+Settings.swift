public import Foundation
public import KeyStore

extension KeygateService {
    /// What a process runs with that every process on one store must agree
    /// on, as ``recordSettings(_:host:processId:within:)`` records it.
    public struct ProcessSettings: Sendable, Hashable {
        /// Where ``KeygateService/catalog`` was loaded from (a path), for
        /// the other processes' logs.
        public var catalogSource: String
        /// How many days of keys' usage the process keeps by day
        /// (``KeygateService/foldUsage(keepingDays:after:keys:)``); `nil`:
        /// every day.
        public var usageRetentionDays: Int?
        /// How many days the process remembers `usage.record`'s
        /// idempotency keys and billing event ids
        /// (``KeygateService/forgetDeliveries(keepingDays:after:rows:)``);
        /// `nil`: for good.
        public var idempotencyRetentionDays: Int?
        /// How many days the process keeps audit entries
        /// (``KeygateService/pruneAudit(keepingDays:after:entries:)``);
        /// `nil`: for good.
        public var auditRetentionDays: Int?
        /// How long the process keeps events (``EventSchedule/retention``).
        public var eventRetention: TimeInterval
        /// The version of Keygate the process runs (`keygate --version`),
        /// for the others' logs during an upgrade; `nil`: not recorded.
        public var version: String?
        /// How often the process records its settings, in seconds; `nil`:
        /// not recorded. Each process counts another's values in use for
        /// a window of a few of its own intervals, so one that records
        /// less often than the others can drop out of their view between
        /// two of its records: ``SettingsInUse/otherSweepIntervals`` names
        /// the longer intervals, to widen the window by.
        public var sweepInterval: Int?
        /// What else explains how the process behaves, by name (see
        /// ``SettingName``): recorded for `keygate status` beside the
        /// process, compared with nothing (processes may well differ).
        public var information: [String: String]

        public init(catalogSource: String, usageRetentionDays: Int? = nil, idempotencyRetentionDays: Int? = nil,
                    auditRetentionDays: Int? = nil, eventRetention: TimeInterval = EventSchedule.defaultRetention,
                    version: String? = nil, sweepInterval: Int? = nil, information: [String: String] = [:]) {
            self.catalogSource = catalogSource
            self.usageRetentionDays = usageRetentionDays
            self.idempotencyRetentionDays = idempotencyRetentionDays
            self.auditRetentionDays = auditRetentionDays
            self.eventRetention = eventRetention
            self.version = version
            self.sweepInterval = sweepInterval
            self.information = information
        }
    }

    /// What the processes on one store run with, as they recorded it
    /// within a window, and what this process should fold and prune by.
    public struct SettingsInUse: Sendable, Hashable {
        /// Other catalogs (each ``SettingInUse/value`` a SHA-256), most
        /// recent first: empty while every process serves with this one's.
        public var otherCatalogs: [SettingInUse]
        /// Other usage retentions (a number of days, or `all`), most recent first.
        public var otherUsageRetentions: [SettingInUse]
        /// Other retentions of idempotency keys (a number of days, or
        /// `all`), most recent first.
        public var otherIdempotencyRetentions: [SettingInUse]
        /// Other audit retentions (a number of days, or `all`), most recent first.
        public var otherAuditRetentions: [SettingInUse]
        /// Other event retentions (seconds), most recent first.
        public var otherEventRetentions: [SettingInUse]
        /// The usage retentions of ``otherUsageRetentions`` that keep more
        /// days than this process's: what changes what it folds.
        public var longerUsageRetentions: [SettingInUse]
        /// The retentions of ``otherIdempotencyRetentions`` that remember
        /// idempotency keys longer than this process's: what changes what
        /// it forgets.
        public var longerIdempotencyRetentions: [SettingInUse]
        /// The retentions of ``otherAuditRetentions`` that keep audit
        /// entries longer than this process's: what changes what it prunes.
        public var longerAuditRetentions: [SettingInUse]
        /// The event retentions of ``otherEventRetentions`` that keep events
        /// longer than this process's: what changes what it prunes.
        public var longerEventRetentions: [SettingInUse]
        /// Other versions of Keygate, most recent first (when this process
        /// records its own).
        public var otherVersions: [SettingInUse]
        /// Other intervals between records (seconds), most recent first
        /// (when this process records its own).
        public var otherSweepIntervals: [SettingInUse]
        /// The days of usage to keep when folding: the most any process
        /// keeps; `nil` (fold nothing) while one keeps every day.
        public var usageRetentionDays: Int?
        /// The days to remember idempotency keys when forgetting them: the
        /// most any process keeps; `nil` (forget nothing) while one keeps
        /// them for good.
        public var idempotencyRetentionDays: Int?
        /// The days to keep audit entries when pruning them: the most any
        /// process keeps; `nil` (prune nothing) while one keeps them for good.
        public var auditRetentionDays: Int?
        /// How long to keep events when pruning: the longest any process keeps them.
        public var eventRetention: TimeInterval
        /// How far back, in seconds, the values above were counted: the
        /// window asked for, or longer while a process that records less
        /// often is in use (``KeygateService/lookBack(_:window:sweepInterval:now:)``).
        public var lookBack: TimeInterval
    }

    /// How far this process's clock is from the database server's, where
    /// processes on other hosts share it (PostgreSQL); `nil` on a store of
    /// this host alone (SQLite). Rate limits, expiry and quota periods are
    /// kept in clock time: a host whose clock is off lets keys wait longer
    /// on the others, and expires keys and turns quota periods early or
    /// late. Record it as ``SettingName/clockOffset`` with the settings.
    public func clockOffset() throws(ServiceError) -> ClockOffset? {
        try store { () throws(KeyStoreError) in try storage.clockOffset() }
    }

    /// The names settings are recorded under.
    public enum SettingName {
        public static let catalog = "catalog"
        public static let usageRetention = "usage-retention-days"
        public static let idempotencyRetention = "idempotency-retention-days"
        public static let auditRetention = "audit-retention-days"
        public static let eventRetention = "event-retention-seconds"
        public static let version = "keygate-version"
        /// How often a process records its settings, in seconds
        /// (``ProcessSettings/sweepInterval``).
        public static let sweepInterval = "event-sweep-seconds"

        /// Information a process records about itself
        /// (``ProcessSettings/information``), which need not agree: how
        /// many keys its verification cache holds.
        public static let cacheKeys = "cache-keys"
        /// Information: how verification learns of other processes'
        /// changes (PostgreSQL: `notified`, `polled` or `strict`).
        public static let freshness = "freshness"
        /// Information: what rate limits do while the database is out of
        /// reach (PostgreSQL: `local` or `refuse`).
        public static let rateLimitOutage = "rate-limit-outage"
        /// Information: what the connection string reaches (PostgreSQL:
        /// `session` or `transaction`, a pooler lending a connection per
        /// transaction).
        public static let poolMode = "pool-mode"
        /// Information: whether the process shares each key's rate limit
        /// with the other processes on the database (`shared`), or
        /// enforces it on its own (`own`: a key's limit multiplies by the
        /// processes that verify it).
        public static let rateLimits = "rate-limits"
        /// Information: how far the process's clock is ahead of the
        /// database server's, in milliseconds (negative: behind), where
        /// other hosts share it (``KeygateService/clockOffset()``, negated).
        public static let clockOffset = "clock-offset-ms"
        /// Information: the codes of what `health.check` warned of at the
        /// process's last sweep besides its rate limits and its clock
        /// (`flush_failing`, `low_disk_space`, …, comma-separated), or
        /// `none`: for `keygate status` on any host to name them.
        public static let healthWarnings = "health-warnings"

        /// The days a recorded usage, idempotency or audit retention keeps:
        /// `Int.max` for `all`; a value this version cannot read (a later
        /// one's) is the fewest, 0, and changes nothing.
        public static func retentionDays(_ value: String) -> Int {
            value == "all" ? .max : Int(value) ?? 0
        }

        /// How long a recorded event retention keeps events; a value this
        /// version cannot read is the shortest, 0.
        public static func eventSeconds(_ value: String) -> TimeInterval {
            TimeInterval(value) ?? 0
        }
    }

    /// Records in the store that this process runs with `settings` (and
    /// with ``catalog``), on `host`, as process `processId`, and returns
    /// what the processes on the same store recorded within `window`.
    ///
    /// Each process answers about plans from its own catalog: processes on
    /// one database that load different catalogs answer the same request
    /// differently, which nothing in a single answer shows; a catalog in
    /// ``SettingsInUse/otherCatalogs`` is that split. Folding usage and
    /// pruning events and audit entries act on every process's data, and
    /// cannot be undone: a process should fold and prune by
    /// ``SettingsInUse/usageRetentionDays``, ``SettingsInUse/eventRetention``
    /// and ``SettingsInUse/auditRetentionDays``, the most any process keeps,
    /// not its own (`keygate serve` does), so that one started with a
    /// shorter setting takes nothing the others keep.
    ///
    /// Call it now and then from every process with `window` the same few
    /// times the interval between calls (`keygate serve` records at each
    /// event sweep and looks three sweeps back), and give that interval
    /// as ``ProcessSettings/sweepInterval``: a process that records less
    /// often then counts for as many of its own intervals
    /// (``lookBack(_:window:sweepInterval:now:)``). One small write;
    /// never per request.
    public func recordSettings(_ settings: ProcessSettings, host: String, processId: Int32, within window: TimeInterval)
        throws(ServiceError) -> SettingsInUse
    {
        func setting(_ name: String, _ value: String, source: String = "") -> SettingInUse {
            SettingInUse(name: name, value: value, source: source, host: host, processId: processId)
        }
        let mine = [
            setting(SettingName.catalog, catalog.digest, source: settings.catalogSource),
            setting(SettingName.usageRetention, settings.usageRetentionDays.map(String.init) ?? "all"),
            setting(SettingName.idempotencyRetention, settings.idempotencyRetentionDays.map(String.init) ?? "all"),
            setting(SettingName.auditRetention, settings.auditRetentionDays.map(String.init) ?? "all"),
            setting(SettingName.eventRetention, String(Int(settings.eventRetention.rounded(.up)))),
        ] + (settings.version.map { [setting(SettingName.version, $0)] } ?? [])
            + (settings.sweepInterval.map { [setting(SettingName.sweepInterval, String($0))] } ?? [])
        let information = settings.information.sorted { $0.key < $1.key }.map { setting($0.key, $0.value) }
        // A day back, all the store keeps: which of it counts depends on
        // the intervals it holds.
        let recorded = try store { () throws(KeyStoreError) in
            try storage.recordSettings(mine, information: information, within: SettingInUse.retention)
        }
        let now = clock.now()
        let lookBack = Self.lookBack(recorded, window: window, sweepInterval: settings.sweepInterval, now: now)
        let others = recorded.filter { now.timeIntervalSince($0.seenAt) <= lookBack }
        func named(_ name: String) -> [SettingInUse] { others.filter { $0.name == name } }
        let usageRetentions = named(SettingName.usageRetention)
        let idempotencyRetentions = named(SettingName.idempotencyRetention)
        let auditRetentions = named(SettingName.auditRetention)
        let eventRetentions = named(SettingName.eventRetention)
        let days = SettingName.retentionDays, seconds = SettingName.eventSeconds
        // The retentions longer than `mine`, and the days the longest keeps (`nil`: every day).
        func longer(_ retentions: [SettingInUse], than mine: Int?) -> (longer: [SettingInUse], kept: Int?) {
            let mine = mine ?? .max
            let longer = retentions.filter { days($0.value) > mine }
            let kept = longer.map { days($0.value) }.reduce(mine, max)
            return (longer, kept == .max ? nil : kept)
        }
        let usage = longer(usageRetentions, than: settings.usageRetentionDays)
        let idempotency = longer(idempotencyRetentions, than: settings.idempotencyRetentionDays)
        let audit = longer(auditRetentions, than: settings.auditRetentionDays)
        let longerEvents = eventRetentions.filter { seconds($0.value) > settings.eventRetention }
        return SettingsInUse(otherCatalogs: named(SettingName.catalog), otherUsageRetentions: usageRetentions,
                             otherIdempotencyRetentions: idempotencyRetentions, otherAuditRetentions: auditRetentions,
                             otherEventRetentions: eventRetentions, longerUsageRetentions: usage.longer,
                             longerIdempotencyRetentions: idempotency.longer, longerAuditRetentions: audit.longer,
                             longerEventRetentions: longerEvents, otherVersions: named(SettingName.version),
                             otherSweepIntervals: named(SettingName.sweepInterval),
                             usageRetentionDays: usage.kept, idempotencyRetentionDays: idempotency.kept,
                             auditRetentionDays: audit.kept,
                             eventRetention: longerEvents.map { seconds($0.value) }.reduce(settings.eventRetention, max),
                             lookBack: lookBack)
    }

    /// How far back recorded settings count, for a process that records
    /// every `sweepInterval` seconds and looks `window` back: as many of
    /// each process's own intervals as `window` is of this one's. A
    /// process that records every 600 s, seen by one that records every
    /// 60 s and looks 180 s back, counts for 1,800 s after its last
    /// record, and so does every value recorded within that time; without
    /// it, it would drop out between two of its records, and what it
    /// keeps could be folded or pruned meanwhile. At most
    /// ``SettingInUse/retention``, all a store keeps; `window` when
    /// `sweepInterval` is `nil`.
    ///
    /// - Parameter recorded: What the store returned, each process's
    ///   interval among it (``SettingName/sweepInterval``), with the time
    ///   it was recorded.
    public static func lookBack(_ recorded: [SettingInUse], window: TimeInterval, sweepInterval: Int?, now: Date)
        -> TimeInterval
    {
        guard let sweepInterval, sweepInterval > 0 else { return window }
        let scale = window / TimeInterval(sweepInterval)
        return recorded.reduce(window) { lookBack, setting in
            guard setting.name == SettingName.sweepInterval, let interval = TimeInterval(setting.value) else {
                return lookBack
            }
            let its = min(interval * scale, SettingInUse.retention)
            return now.timeIntervalSince(setting.seenAt) <= its ? max(lookBack, its) : lookBack
        }
    }
}
