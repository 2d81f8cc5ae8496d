public import Foundation
import KeyStore
public import PlanCatalog

/// One quota of a plan and how much of it is used.
public struct QuotaState: Sendable, Hashable {
    public let meter: MeterID
    /// `nil`: unlimited.
    public let limit: Int?
    public let used: Int
    /// `nil` when unlimited; never below 0.
    public let remaining: Int?
    /// Whether more is used than the limit allows.
    public let exceeded: Bool
    public let period: QuotaPeriod
    /// `nil` for quotas that never reset.
    public let resetsAt: Date?
}

/// An organization's plan, status and quotas, as `subscription.read` reports them.
public struct QuotaReport: Sendable, Hashable {
    public let subscription: Subscription
    /// The plan whose quotas apply (the default plan for a canceled subscription).
    public let plan: PlanID
    public let quotas: [QuotaState]
}
