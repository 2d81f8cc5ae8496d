package import Foundation
package import KeygateJSON

/// A rotation, checked: the grace period, and when the current secret stops.
package struct CheckedRotation {
    package let grace: Int
    package let actor: String
    package let now: Date
    /// The previous secret's deadline; `nil` when it stops at once.
    package let previousExpiresAt: Date?
    /// The caller's name for the rotation, remembered with what it asked.
    package let idempotencyKey: String?

    /// Refuses a key that cannot be rotated (revoked or expired).
    package func check(_ key: KeyRecord) throws(KeyStoreError) {
        try key.checkSecretsChangeable(at: now)
    }

    /// Refuses a rotation with a grace period that would leave the key
    /// more earlier secrets working than ``KeyRules/maximumPreviousSecrets``,
    /// `working` the number it has once those past their deadline are
    /// gone. A rotation without grace adds none and is never refused (a
    /// leak must be answerable): it is not asked.
    package func checkRoom(working: Int) throws(KeyStoreError) {
        guard working >= KeyRules.maximumPreviousSecrets else { return }
        throw KeyStoreError(.tooManyPreviousSecrets, field: "gracePeriodSeconds", ["max": "\(KeyRules.maximumPreviousSecrets)"])
    }

    /// What a `key.rotated` event tells: when the previous secret stops.
    package var eventDetails: [String: JSON] {
        ["previousSecretExpiresAt": previousExpiresAt.map { .string(RFC3339.string($0)) } ?? .null]
    }

    /// What the audit log keeps of the rotation.
    package var auditDetails: [String: JSON] {
        [
            "gracePeriodSeconds": .integer(grace),
            "previousSecretExpiresAt": previousExpiresAt.map { .string(RFC3339.string($0)) } ?? .null,
        ]
    }
}
