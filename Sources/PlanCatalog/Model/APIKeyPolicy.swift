/// What a plan allows of API keys. A plan without one has no API keys.
public struct APIKeyPolicy: Sendable, Hashable {
    /// The most keys that may be active at once; `nil` means unlimited.
    /// It is the plan's quota on the meter whose source is ``MeterSource/activeKeys``.
    public let maxActiveKeys: Int?
    /// The kinds a key may be of, in catalog order.
    public let kinds: [KindID]
    /// The capabilities a key may carry, in catalog order.
    public let capabilities: [CapabilityID]
    public let rateLimit: RateLimitPolicy
    /// The longest a key may live; `nil` means keys may never expire.
    public let maxLifetimeDays: Int?

    public init(
        maxActiveKeys: Int?,
        kinds: [KindID],
        capabilities: [CapabilityID],
        rateLimit: RateLimitPolicy,
        maxLifetimeDays: Int?
    ) {
        self.maxActiveKeys = maxActiveKeys
        self.kinds = kinds
        self.capabilities = capabilities
        self.rateLimit = rateLimit
        self.maxLifetimeDays = maxLifetimeDays
    }
}
