public import PlanCatalog

/// What moving an organization to another plan would do, before it is done.
public struct PlanChangePreview: Sendable, Hashable {
    public let from: PlanID
    public let to: PlanID
    /// Keys working now that the new plan would suspend, oldest first.
    public let suspendedKeys: [String]
    /// Keys suspended now that the new plan would bring back.
    public let restoredKeys: [String]
    /// Keys that keep working but lose capabilities they use now.
    public let lostCapabilities: [LostCapabilities]
    /// Capabilities some working key of the organization can use now and
    /// none could after the change (keys suspended by it included), in
    /// catalog order.
    public let capabilitiesLost: [String]
    /// Quotas whose limit or period would differ.
    public let quotaChanges: [QuotaChange]
}

public struct LostCapabilities: Sendable, Hashable {
    public let keyId: String
    public let capabilities: [String]
}

public struct QuotaChange: Sendable, Hashable {
    public let meter: MeterID
    public let from: Quota?
    public let to: Quota?
}
