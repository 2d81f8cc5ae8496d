/// A key's status as callers see it: what its record says
/// (`KeyState`) and, for a live key, whether its organization's
/// plan allows it now. Derived each time, never stored.
public enum KeyStatus: String, Sendable, Hashable, CaseIterable {
    case active
    /// Its expiry has passed.
    case expired
    /// Revoked for good; the record stays for the dashboard and the audit.
    case revoked
    /// Its organization's plan no longer allows it; an upgrade brings it back.
    case suspended
}
