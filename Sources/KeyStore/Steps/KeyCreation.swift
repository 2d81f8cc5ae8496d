/// A creation under an idempotency key, as a store keeps it: the key it
/// made and what it was asked, for a second call under the key to be
/// compared with.
package struct KeyCreation {
    /// The columns a store reads it from, in the order of the memberwise
    /// initializer (capabilities and origins as ``StorageCoding`` lists).
    package static let columns = "key_id, name, kind, capabilities, environment, rate_limit, allowed_origins, expires_at"

    package let keyId: String
    package let name: String
    package let kind: String
    package let capabilities: String
    /// As sent; `nil`: left out, for the catalog's first.
    package let environment: String?
    /// As sent; `nil`: left out, for the plan's default.
    package let rateLimit: Int?
    package let allowedOrigins: String
    /// As sent; `nil`: left out, for none or the plan's longest lifetime.
    package let expiresAt: Int64?

    package init(keyId: String, name: String, kind: String, capabilities: String, environment: String?, rateLimit: Int?,
                 allowedOrigins: String, expiresAt: Int64?) {
        self.keyId = keyId
        self.name = name
        self.kind = kind
        self.capabilities = capabilities
        self.environment = environment
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.expiresAt = expiresAt
    }

    /// A creation's, from its checked name and origins, its capabilities
    /// in name order (the set is the request, not the order it was
    /// written in), and what was `sent` where a default filled in.
    init(keyId: String, name: String, kind: String, capabilities: [String], allowedOrigins: [String],
         sent: NewKey.SentSettings) {
        self.init(keyId: keyId, name: name, kind: kind, capabilities: StorageCoding.list(capabilities.sorted()),
                  environment: sent.environment, rateLimit: sent.rateLimit,
                  allowedOrigins: StorageCoding.list(allowedOrigins),
                  expiresAt: sent.expiresAt.map { StorageCoding.milliseconds(StorageCoding.truncated($0)) })
    }

    /// Why `retry`, sent under this creation's idempotency key, makes no
    /// key. The same creation is a retry whose answer was lost: it learns
    /// the key the first one made (the secret was answered once, and a
    /// second key would be one nobody holds the secret of). Another is a
    /// key reused by mistake. Compared as the store keeps them: texts byte
    /// for byte, origins in the spelling browsers send, and what either
    /// left out for a default as left out.
    package func refusal(of retry: KeyCreation) -> KeyStoreError {
        func same(_ first: String?, _ second: String?) -> Bool {
            if let first, let second { first.isSameText(as: second) } else { first == nil && second == nil }
        }
        let differs: String? =
            if !name.isSameText(as: retry.name) { "name" }
            else if !kind.isSameText(as: retry.kind) { "kind" }
            else if !capabilities.isSameText(as: retry.capabilities) { "capabilities" }
            else if !same(environment, retry.environment) { "environment" }
            else if rateLimit != retry.rateLimit { "rateLimit" }
            else if !allowedOrigins.isSameText(as: retry.allowedOrigins) { "allowedOrigins" }
            else if expiresAt != retry.expiresAt { "expiresAt" } else { nil }
        if let differs { return KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs]) }
        return KeyStoreError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": keyId])
    }
}
