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
        /// How long the process keeps events (``EventSchedule/retention``).
        public var eventRetention: TimeInterval
        /// The version of Keygate the process runs (`keygate --version`),
        /// for the others' logs during an upgrade; `nil`: not recorded.
        public var version: String?

        public init(catalogSource: String, usageRetentionDays: Int? = nil,
                    eventRetention: TimeInterval = EventSchedule.defaultRetention, version: String? = nil) {
            self.catalogSource = catalogSource
            self.usageRetentionDays = usageRetentionDays
            self.eventRetention = eventRetention
            self.version = version
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
        /// Other event retentions (seconds), most recent first.
        public var otherEventRetentions: [SettingInUse]
        /// The usage retentions of ``otherUsageRetentions`` that keep more
        /// days than this process's: what changes what it folds.
        public var longerUsageRetentions: [SettingInUse]
        /// The event retentions of ``otherEventRetentions`` that keep events
        /// longer than this process's: what changes what it prunes.
        public var longerEventRetentions: [SettingInUse]
        /// Other versions of Keygate, most recent first (when this process
        /// records its own).
        public var otherVersions: [SettingInUse]
        /// The days of usage to keep when folding: the most any process
        /// keeps; `nil` (fold nothing) while one keeps every day.
        public var usageRetentionDays: Int?
        /// How long to keep events when pruning: the longest any process keeps them.
        public var eventRetention: TimeInterval
    }

    /// The names settings are recorded under.
    public enum SettingName {
        public static let catalog = "catalog"
        public static let usageRetention = "usage-retention-days"
        public static let eventRetention = "event-retention-seconds"
        public static let version = "keygate-version"

        /// The days of usage a recorded usage retention keeps: `Int.max`
        /// for `all`; a value this version cannot read (a later one's) is
        /// the fewest, 0, and changes nothing.
        public static func usageDays(_ value: String) -> Int {
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
    /// pruning events act on every process's data, and cannot be undone:
    /// a process should fold and prune by ``SettingsInUse/usageRetentionDays``
    /// and ``SettingsInUse/eventRetention``, the most any process keeps,
    /// not its own (`keygate serve` does), so that one started with a
    /// shorter setting takes nothing the others keep.
    ///
    /// Call it now and then from every process with the same `window`, a
    /// few times the interval between calls (`keygate serve` records at
    /// each event sweep and looks three sweeps back). One small write;
    /// never per request.
    public func recordSettings(_ settings: ProcessSettings, host: String, processId: Int32, within window: TimeInterval)
        throws(ServiceError) -> SettingsInUse
    {
        func setting(_ name: String, _ value: String, source: String = "") -> SettingInUse {
            SettingInUse(name: name, value: value, source: source, host: host, processId: processId)
        }
        let usageRetention = settings.usageRetentionDays.map(String.init) ?? "all"
        let mine = [
            setting(SettingName.catalog, catalog.digest, source: settings.catalogSource),
            setting(SettingName.usageRetention, usageRetention),
            setting(SettingName.eventRetention, String(Int(settings.eventRetention.rounded(.up)))),
        ] + (settings.version.map { [setting(SettingName.version, $0)] } ?? [])
        let others = try store { () throws(KeyStoreError) in try storage.recordSettings(mine, within: window) }
        func named(_ name: String) -> [SettingInUse] { others.filter { $0.name == name } }
        let usageRetentions = named(SettingName.usageRetention)
        let eventRetentions = named(SettingName.eventRetention)
        let days = SettingName.usageDays, seconds = SettingName.eventSeconds
        let myDays = settings.usageRetentionDays ?? .max
        let longerUsage = usageRetentions.filter { days($0.value) > myDays }
        let longerEvents = eventRetentions.filter { seconds($0.value) > settings.eventRetention }
        let keptDays = longerUsage.map { days($0.value) }.reduce(myDays, max)
        return SettingsInUse(otherCatalogs: named(SettingName.catalog), otherUsageRetentions: usageRetentions,
                             otherEventRetentions: eventRetentions, longerUsageRetentions: longerUsage,
                             longerEventRetentions: longerEvents, otherVersions: named(SettingName.version),
                             usageRetentionDays: keptDays == .max ? nil : keptDays,
                             eventRetention: longerEvents.map { seconds($0.value) }.reduce(settings.eventRetention, max))
    }
}
