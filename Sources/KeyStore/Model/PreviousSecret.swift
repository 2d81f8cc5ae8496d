public import Foundation

/// A secret a rotation replaced and left working until a deadline (its
/// grace period), as the dashboard shows it: never the secret, only its
/// hint.
public struct PreviousSecret: Sendable, Hashable {
    /// The secret's prefix and last four characters; `nil` for a secret
    /// rotated out before stores kept it (schema v21 on SQLite, 19 on
    /// PostgreSQL).
    public let hint: String?
    /// When it stops working.
    public let expiresAt: Date

    public init(hint: String?, expiresAt: Date) {
        self.hint = hint
        self.expiresAt = expiresAt
    }
}
