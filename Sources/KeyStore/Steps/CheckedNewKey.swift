package import KeygateJSON

/// A key about to be created, checked.
package struct CheckedNewKey {
    package let record: KeyRecord
    package let secret: RawKey
    package let digest: KeyDigest
    package let actor: String
    /// The caller's name for the creation, remembered with ``creation``.
    package let idempotencyKey: String?
    /// What was sent where a default filled in, as ``NewKey/sent`` says.
    package let sent: NewKey.SentSettings

    /// What the audit log keeps of the creation.
    package var auditDetails: [String: JSON] { record.settingsDetails }

    /// What is remembered under ``idempotencyKey``.
    package var creation: KeyCreation {
        KeyCreation(keyId: record.id, name: record.name, kind: record.kind, capabilities: record.capabilities,
                    allowedOrigins: record.allowedOrigins, sent: sent)
    }
}

extension NewKey {
    /// ``sent``, or the settings themselves where the caller gave them as they are.
    var sentSettings: SentSettings {
        sent ?? SentSettings(environment: environment, rateLimit: rateLimit, expiresAt: expiresAt)
    }
}
