package import Foundation
package import KeygateJSON

extension KeyRecord {
    /// What a key was made with, as the audit log keeps it of a creation or an import.
    package var settingsDetails: [String: JSON] {
        var details: [String: JSON] = [
            "name": .string(name), "kind": .string(kind), "capabilities": .strings(capabilities),
            "environment": .string(environment), "rateLimit": .integer(rateLimit), "allowedOrigins": .strings(allowedOrigins),
        ]
        details["expiresAt"] = expiresAt.map { .string(RFC3339.string($0)) }
        return details
    }
}

extension KeyRecord {
    /// Refuses a key none of whose secrets works any more (revoked or
    /// expired): its secrets are not changed, by a rotation or otherwise.
    package func checkSecretsChangeable(at now: Date) throws(KeyStoreError) {
        switch state(at: now) {
        case .revoked: throw KeyStoreError(.keyRevoked, field: "keyId")
        case .expired: throw KeyStoreError(.keyExpired, field: "keyId")
        case .live: break
        }
    }

    /// The secrets a ``KeyStorage/stopPreviousSecrets(id:organizationId:actor:)``
    /// stopped, as its audit entry and its event name them: hint (`null`
    /// for one rotated out before stores kept it) and the deadline it had.
    package static func stoppedSecrets(_ secrets: [PreviousSecret]) -> JSON {
        .array(secrets.map { secret in
            ["hint": secret.hint.map(JSON.string) ?? .null, "expiresAt": .string(RFC3339.string(secret.expiresAt))]
        })
    }

    /// What the audit log keeps of a leak report that flagged the key.
    package static func leakDetails(_ key: KeyRecord, secret: LeakedSecret, location: String?) -> [String: JSON] {
        var details = secret.members
        details["name"] = .string(key.name)
        details["location"] = location.map(JSON.string)
        return details
    }

    /// What the audit log keeps of a revocation.
    package static func revocationDetails(_ key: KeyRecord, reason: String?) -> [String: JSON] {
        var details: [String: JSON] = ["name": .string(key.name)]
        details["reason"] = reason.map(JSON.string)
        return details
    }
}
