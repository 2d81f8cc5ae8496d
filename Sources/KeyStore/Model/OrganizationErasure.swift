package import KeygateJSON

/// What ``KeyStorage/eraseOrganization(_:actor:)`` erased of an
/// organization: its keys (with their secrets and usage), its
/// subscription, meters, remembered calls, audit log and events. The
/// erasure's own audit entry and event say this much, and no more.
public struct OrganizationErasure: Sendable, Hashable {
    /// The keys erased, whatever their state.
    public var keys: Int

    public init(keys: Int) {
        self.keys = keys
    }

    /// The tables, the same in both stores, that hold an organization's
    /// rows by its id besides its keys (whose secrets and usage go with
    /// them). Each but `billing_event` has an index led by the id; that
    /// one, kept only for its retention, is scanned.
    package static let tables = [
        "subscription", "billing_event", "meter_usage", "usage_record", "key_creation", "key_rotation",
        "audit_entry", "outbox_event", "outbox_pruned",
    ]

    /// The erasure's audit entry's details and its event's data.
    package var details: [String: JSON] { ["keys": .number(String(keys))] }
}
