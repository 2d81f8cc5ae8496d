/// A plan an organization pays for, and what it allows.
public struct Plan: Sendable, Hashable, Identifiable {
    public let id: PlanID
    /// The key of the plan's name in `Localization/`.
    public let nameKey: String
    /// The plan's place in the catalog, 0 for the cheapest: it decides which
    /// plan a refusal suggests and whether a change is a downgrade.
    public let tier: Int
    /// `nil` when the plan has no API keys.
    public let apiKeys: APIKeyPolicy?
    /// One quota per meter of the catalog, in the catalog's meter order.
    public let quotas: [Quota]

    public init(id: PlanID, nameKey: String, tier: Int, apiKeys: APIKeyPolicy?, quotas: [Quota]) {
        self.id = id
        self.nameKey = nameKey
        self.tier = tier
        self.apiKeys = apiKeys
        self.quotas = quotas
    }

    /// Whether organizations on this plan may have API keys at all.
    public var allowsAPIKeys: Bool { apiKeys != nil }

    /// The plan's quota on a meter.
    public func quota(for meter: MeterID) -> Quota? {
        quotas.first { $0.meter == meter }
    }
}
