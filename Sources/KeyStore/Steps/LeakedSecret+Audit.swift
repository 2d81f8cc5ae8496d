package import KeygateJSON

extension LeakedSecret {
    /// How the audit log and the event name the reported secret: its hint
    /// (over the key's, which is its current secret's) and, if rotated out,
    /// its grace deadline.
    package var members: [String: JSON] {
        var members: [String: JSON] = ["hint": .string(hint)]
        members["secretExpiresAt"] = expiresAt.map { .string(RFC3339.string($0)) }
        return members
    }
}
