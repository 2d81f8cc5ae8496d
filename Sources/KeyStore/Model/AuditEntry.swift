public import Foundation
public import KeygateJSON

/// One line of an organization's audit log: who did what to which key, and
/// what changed. It never holds a secret, and it outlives deleted keys.
public struct AuditEntry: Sendable, Hashable {
    public let id: Int64
    public let organizationId: String
    public let at: Date
    public let actor: String
    public let action: AuditAction
    public let keyId: String?
    /// An object whose members differ by action, in key order.
    public let details: JSON

    /// For the stores of this package, which build it from what they read.
    package init(id: Int64, organizationId: String, at: Date, actor: String, action: AuditAction, keyId: String?,
                 details: JSON) {
        self.id = id
        self.organizationId = organizationId
        self.at = at
        self.actor = actor
        self.action = action
        self.keyId = keyId
        self.details = details
    }
}

/// What an audit entry records.
public struct AuditAction: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    public static let keyCreated = AuditAction(rawValue: "key.created")
    public static let keyUpdated = AuditAction(rawValue: "key.updated")
    public static let keyRotated = AuditAction(rawValue: "key.rotated")
    /// The secrets rotations had left working were stopped before their
    /// deadlines (``KeyStorage/stopPreviousSecrets(id:organizationId:actor:)``).
    public static let keyPreviousSecretsStopped = AuditAction(rawValue: "key.previous_secrets_stopped")
    public static let keyRevoked = AuditAction(rawValue: "key.revoked")
    public static let keyDeleted = AuditAction(rawValue: "key.deleted")
    /// A key issued elsewhere was moved in (``KeyStorage/importKey(_:limit:)``).
    public static let keyImported = AuditAction(rawValue: "key.imported")
    /// A scanning service reported the key leaked and the product chose to flag it.
    public static let keyLeakReported = AuditAction(rawValue: "key.leak_reported")
    public static let subscriptionChanged = AuditAction(rawValue: "subscription.changed")
    /// The organization was erased (``KeyStorage/eraseOrganization(_:actor:)``):
    /// the first entry of its log after it, every earlier one gone.
    public static let organizationErased = AuditAction(rawValue: "organization.erased")

    /// Every action, as rpc.discover publishes them.
    public static let all: [AuditAction] = [
        .keyCreated, .keyUpdated, .keyRotated, .keyPreviousSecretsStopped, .keyRevoked, .keyDeleted, .keyImported,
        .keyLeakReported, .subscriptionChanged, .organizationErased,
    ]
}

/// One page of an audit log, newest first.
public struct AuditPage: Sendable {
    public let entries: [AuditEntry]
    public let nextCursor: String?

    /// For the stores of this package, which build it from what they read.
    package init(entries: [AuditEntry], nextCursor: String?) {
        self.entries = entries
        self.nextCursor = nextCursor
    }
}

/// One step of a pass that deletes audit entries past a retention
/// (``KeyStorage/pruneAudit(before:after:entries:)``).
public struct AuditPruning: Sendable, Hashable {
    /// The entries the step deleted.
    public var pruned: Int
    /// The last entry the step deleted, where the next step goes on;
    /// `nil` when the pass has reached the entries kept.
    public var next: Int64?

    public init(pruned: Int, next: Int64?) {
        self.pruned = pruned
        self.next = next
    }
}
