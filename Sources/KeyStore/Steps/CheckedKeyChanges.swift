import Foundation
import KeygateJSON

/// Changes to a key, checked.
package struct CheckedKeyChanges {
    let name: String?
    let capabilities: [String]?
    let rateLimit: Int?
    let origins: [String]?
    let expiresAt: Date?
    package let actor: String

    /// Applies the changes to `key`; what changed (empty when nothing did:
    /// such an update writes nothing).
    package func apply(to key: inout KeyRecord) -> KeyChangeDetails {
        var details = KeyChangeDetails()
        if let name, name != key.name {
            details.add("name", from: .string(key.name), to: .string(name))
            key.name = name
        }
        if let capabilities, capabilities != key.capabilities {
            details.add("capabilities", from: .strings(key.capabilities), to: .strings(capabilities))
            key.capabilities = capabilities
        }
        if let rateLimit, rateLimit != key.rateLimit {
            details.add("rateLimit", from: .integer(key.rateLimit), to: .integer(rateLimit))
            key.rateLimit = rateLimit
        }
        if let origins, origins != key.allowedOrigins {
            details.add("allowedOrigins", from: .strings(key.allowedOrigins), to: .strings(origins))
            key.allowedOrigins = origins
        }
        if let expiresAt, expiresAt != key.expiresAt {
            details.add("expiresAt", from: key.expiresAt.map { .string(RFC3339.string($0)) } ?? .null,
                        to: .string(RFC3339.string(expiresAt)))
            key.expiresAt = expiresAt
        }
        return details
    }
}
