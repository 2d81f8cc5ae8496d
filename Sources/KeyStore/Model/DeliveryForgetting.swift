/// Where a pass that forgets old deliveries has come to
/// (``SubscriptionStorage/forgetDeliveries(before:after:rows:)``): first
/// the uses `usage.record` remembers, in the order of their organization
/// and idempotency key, then the billing event ids, in their order, then
/// the creations `keys.create` remembers, then the rotations `keys.rotate`
/// remembers, as the uses.
public enum DeliveryCursor: Sendable, Hashable {
    /// After this use.
    case use(organizationId: String, idempotencyKey: String)
    /// On to the billing event ids: after this one, or from the first.
    case billingEvent(after: String?)
    /// On to the creations: after this one; from the first, after the
    /// empty organization id and key, which sort before every one.
    case creation(organizationId: String, idempotencyKey: String)
    /// On to the rotations: after this one; from the first, after the
    /// empty organization id and key, as the creations.
    case rotation(organizationId: String, idempotencyKey: String)

    /// The use a step of uses starts after: the cursor's, or, from the
    /// first (`nil`), one that sorts before every use (organization ids
    /// and idempotency keys are never empty).
    public static func useBefore(_ cursor: DeliveryCursor?) -> (organizationId: String, idempotencyKey: String) {
        if case .use(let organizationId, let idempotencyKey)? = cursor { (organizationId, idempotencyKey) } else { ("", "") }
    }
}

/// One step of a pass that forgets old deliveries.
public struct DeliveryForgetting: Sendable, Hashable {
    /// The uses, billing event ids, creations and rotations forgotten.
    public var forgotten: Int
    /// Where the next step goes on; `nil` when the pass has gone through
    /// every use, billing event id, creation and rotation.
    public var next: DeliveryCursor?

    public init(forgotten: Int, next: DeliveryCursor?) {
        self.forgotten = forgotten
        self.next = next
    }
}
