/// A key's status. It is derived from its record and the time, never stored,
/// so it cannot disagree with them.
public enum KeyStatus: String, Sendable, Hashable, CaseIterable, Codable {
    case active
    /// Its expiry has passed.
    case expired
    /// Revoked for good; the record stays for the dashboard and the audit.
    case revoked
    /// Its organization's plan no longer allows it; an upgrade brings it
    /// back. Only the service, which knows plans, derives this one.
    case suspended
}
