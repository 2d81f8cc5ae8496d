public import PlanCatalog

/// What the create dialog may offer an organization now, by the same gates
/// as ``KeygateService/createKey(_:)``, answered before the form is filled.
public struct KeyOptions: Sendable {
    public let canCreate: Bool
    /// Why not, when ``canCreate`` is false.
    public let reason: ServiceError?
    /// The kinds the plan allows, each with the capabilities it may carry there.
    public let kinds: [KindOption]
    public let rateLimit: RateLimitPolicy?
    public let maxLifetimeDays: Int?
    public let activeKeys: Int
    /// `nil`: unlimited (or no keys at all, see ``canCreate``).
    public let maxActiveKeys: Int?
}

/// A kind the plan allows, with what a key of it may carry on the plan.
public struct KindOption: Sendable, Hashable {
    public let kind: KeyKind
    public let capabilities: [Capability]
}
