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
}

/// What a step of a pass from a ``DeliveryCursor`` goes through, for every
/// store: the order of the tables is said here once.
package enum DeliveryStep {
    /// Calls remembered by organization and idempotency key, after this
    /// row (from the first: the empty organization id and key, which sort
    /// before every row, as ids and keys are never empty).
    case remembered(RememberedCalls, after: (organizationId: String, idempotencyKey: String))
    /// The billing event ids, after this one or from the first.
    case billingEvents(after: String?)

    package init(from cursor: DeliveryCursor?) {
        self = switch cursor {
        case nil: .remembered(.uses, after: ("", ""))
        case .use(let organizationId, let idempotencyKey)?: .remembered(.uses, after: (organizationId, idempotencyKey))
        case .billingEvent(let after)?: .billingEvents(after: after)
        case .creation(let organizationId, let idempotencyKey)?:
            .remembered(.creations, after: (organizationId, idempotencyKey))
        case .rotation(let organizationId, let idempotencyKey)?:
            .remembered(.rotations, after: (organizationId, idempotencyKey))
        }
    }

    /// Where a pass goes once past the last billing event id.
    package static let afterBillingEvents = DeliveryCursor.creation(organizationId: "", idempotencyKey: "")
}

/// A table of calls remembered by organization and idempotency key.
package enum RememberedCalls {
    case uses, creations, rotations

    package var table: String {
        switch self {
        case .uses: "usage_record"
        case .creations: "key_creation"
        case .rotations: "key_rotation"
        }
    }

    /// The column of when a call was received.
    package var receivedAt: String {
        switch self {
        case .uses: "recorded_at"
        case .creations: "created_at"
        case .rotations: "rotated_at"
        }
    }

    /// Where a step that ended on this row goes on; past the table's last
    /// row (`nil`), where the pass goes next, or `nil` at its end.
    package func next(after last: (organizationId: String, idempotencyKey: String)?) -> DeliveryCursor? {
        switch (self, last) {
        case (.uses, let (organizationId, idempotencyKey)?): .use(organizationId: organizationId, idempotencyKey: idempotencyKey)
        case (.uses, nil): .billingEvent(after: nil)
        case (.creations, let (organizationId, idempotencyKey)?):
            .creation(organizationId: organizationId, idempotencyKey: idempotencyKey)
        case (.creations, nil): .rotation(organizationId: "", idempotencyKey: "")
        case (.rotations, let (organizationId, idempotencyKey)?):
            .rotation(organizationId: organizationId, idempotencyKey: idempotencyKey)
        case (.rotations, nil): nil
        }
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
