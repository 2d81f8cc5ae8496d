/// Where a pass that forgets old deliveries has come to
/// (``SubscriptionStorage/forgetDeliveries(before:after:rows:)``): first
/// the uses `usage.record` remembers, in the order of their organization
/// and idempotency key, then the billing event ids, in their order.
public enum DeliveryCursor: Sendable, Hashable {
    /// After this use.
    case use(organizationId: String, idempotencyKey: String)
    /// On to the billing event ids: after this one, or from the first.
    case billingEvent(after: String?)
}

/// One step of a pass that forgets old deliveries.
public struct DeliveryForgetting: Sendable, Hashable {
    /// The uses and billing event ids forgotten.
    public var forgotten: Int
    /// Where the next step goes on; `nil` when the pass has gone through
    /// every use and every billing event id.
    public var next: DeliveryCursor?

    public init(forgotten: Int, next: DeliveryCursor?) {
        self.forgotten = forgotten
        self.next = next
    }
}
