/// Something an organization's plan puts a quota on.
public struct Meter: Sendable, Hashable, Identifiable {
    public let id: MeterID
    /// The key of the meter's name in `Localization/`.
    public let nameKey: String
    public let source: MeterSource

    public init(id: MeterID, nameKey: String, source: MeterSource) {
        self.id = id
        self.nameKey = nameKey
        self.source = source
    }
}

/// Where a meter's count comes from.
public enum MeterSource: String, Sendable, Hashable, CaseIterable {
    /// Requests verified by `keys.verify`, each counting its cost.
    case verifications
    /// The organization's active keys. This meter's quota is the plan's limit
    /// on active keys, so the catalog states that limit once.
    case activeKeys
    /// Reported by the product through `usage.record`.
    case recorded
}
