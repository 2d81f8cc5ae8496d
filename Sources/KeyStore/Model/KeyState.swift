public import Foundation

/// What a key's record alone says of it, at a given time: derived from the
/// record and the clock, never stored, so it cannot disagree with them.
/// Whether a plan allows the key is not the store's to know (the service's
/// `KeyStatus` adds that).
public enum KeyState: String, Sendable, Hashable, CaseIterable {
    /// Neither revoked nor expired.
    case live
    /// Its expiry has passed.
    case expired
    /// Revoked for good; the record stays for the dashboard and the audit.
    case revoked
}

extension KeyState {
    /// The state revocation and expiry decide at `now`: revoked first, then
    /// expired at its expiry, else live.
    // Inlinable: verification asks on every call (see `KeyRecord.state(at:)`).
    @inlinable
    public init(revokedAt: Date?, expiresAt: Date?, at now: Date) {
        if revokedAt != nil {
            self = .revoked
        } else if let expiresAt, expiresAt <= now {
            self = .expired
        } else {
            self = .live
        }
    }
}
