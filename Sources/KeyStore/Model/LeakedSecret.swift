public import Foundation

/// The secret a leak report named, as the audit log and the event show it:
/// a key rotated with a grace period has more than one secret working, and
/// a report of a rotated-out one must name that one, not the key's current
/// secret (which a rotation without grace would stop, leaving the leaked
/// one working to its deadline).
public struct LeakedSecret: Sendable, Hashable {
    /// The reported secret's hint: its prefix and last four characters.
    public let hint: String
    /// When it stops working by itself: the grace deadline of a rotated-out
    /// secret, `nil` for the key's current one.
    public let expiresAt: Date?

    public init(hint: String, expiresAt: Date?) {
        self.hint = hint
        self.expiresAt = expiresAt
    }
}
