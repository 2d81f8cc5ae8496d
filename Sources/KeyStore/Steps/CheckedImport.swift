package import KeygateJSON

/// A key to import, checked.
package struct CheckedImport {
    package let record: KeyRecord
    package let digest: KeyDigest
    package let actor: String
    /// How the key was given: `key` or `sha256`.
    package let source: String

    /// What the audit log keeps of the import.
    package var auditDetails: [String: JSON] {
        record.settingsDetails.merging([
            "hint": .string(record.hint), "createdAt": .string(RFC3339.string(record.createdAt)), "source": .string(source),
        ]) { $1 }
    }
}
