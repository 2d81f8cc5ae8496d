/// How much of a meter a plan allows per period.
public struct Quota: Sendable, Hashable {
    public let meter: MeterID
    /// The most allowed per period; `nil` means unlimited.
    public let limit: Int?
    public let period: QuotaPeriod

    public init(meter: MeterID, limit: Int?, period: QuotaPeriod) {
        self.meter = meter
        self.limit = limit
        self.period = period
    }
}

/// The period after which a quota's count starts again.
public enum QuotaPeriod: String, Sendable, Hashable, CaseIterable, Codable {
    case day
    case month
    /// Never reset: a standing count such as active keys.
    case none
}
