/// Requests per minute for the keys of a plan.
public struct RateLimitPolicy: Sendable, Hashable {
    /// What a new key gets when its creator asks for no rate limit.
    public let defaultPerMinute: Int
    /// The most a key may be given; a key above it after a downgrade is
    /// clamped to it when enforced.
    public let maxPerMinute: Int

    public init(defaultPerMinute: Int, maxPerMinute: Int) {
        self.defaultPerMinute = defaultPerMinute
        self.maxPerMinute = maxPerMinute
    }
}
