public import Foundation

/// A setting a process runs with, as that process last recorded it in the
/// database it shares with others: the plan catalog it loaded, how long it
/// keeps usage by day and events.
///
/// Processes on one database that load different catalogs answer the same
/// request differently, and one that keeps less than the others would
/// fold or prune for all of them what they keep. Each records its settings
/// now and then (``SubscriptionStorage/recordSettings(_:within:)``), so
/// that each can tell when another runs with different ones.
public struct SettingInUse: Sendable, Hashable {
    /// Which setting it is. The store keeps one row per name and value,
    /// so processes with the same value share it.
    public var name: String
    /// Its value, as the recording process writes it (a catalog's
    /// SHA-256, a number of days).
    public var value: String
    /// Where the value came from (the path a catalog was loaded from), or empty.
    public var source: String
    /// The host the process that recorded it last runs on.
    public var host: String
    /// That process's id on its host.
    public var processId: Int32
    /// When it was recorded, by the store's clock (set by the store).
    public var seenAt: Date

    public init(name: String, value: String, source: String = "", host: String, processId: Int32,
                seenAt: Date = Date(timeIntervalSince1970: 0)) {
        self.name = name
        self.value = value
        self.source = source
        self.host = host
        self.processId = processId
        self.seenAt = seenAt
    }

    /// How long a value stays recorded after its last process recorded
    /// it: a process stopped a day ago tells nothing about today.
    public static let retention: TimeInterval = 86_400
}

extension SettingInUse {
    /// The settings in `recorded` that share a name with one of `mine` and
    /// have another value, in their order: what
    /// ``SubscriptionStorage/recordSettings(_:within:)`` returns.
    package static func others(of mine: [SettingInUse], in recorded: [SettingInUse]) -> [SettingInUse] {
        let names = Set(mine.map(\.name))
        let own = Set(mine.map { [$0.name, $0.value] })
        return recorded.filter { names.contains($0.name) && !own.contains([$0.name, $0.value]) }
    }
}

/// Where a store keeps recorded settings: each value with the process that
/// recorded it last (what processes agree by), and each process's own (what
/// `keygate status` lists, from schema v18 on SQLite and 16 on PostgreSQL).
package enum SettingTable: String, Sendable {
    case values = "setting_in_use"
    case processes = "process_setting"
}
