import Foundation
import KeyStore

/// A key a scanning service reported, and where it found it.
public struct LeakedKeyReport: Sendable, Hashable {
    public var key: String
    /// Where it was found (a URL, a file and line), kept in the audit log.
    public var location: String?

    public init(key: String, location: String? = nil) {
        self.key = key
        self.location = location
    }
}

/// What to do with a live key reported leaked.
public enum LeakAction: String, Sendable, CaseIterable {
    /// Revoke it at once.
    case revoke
    /// Record the report in the organization's audit log and leave the key working.
    case flag
}

/// The answer for one reported key: whether it is a key of this product
/// (a true positive) and what was done. Nothing about its organization.
public struct LeakFinding: Sendable, Hashable {
    public enum Outcome: String, Sendable, CaseIterable {
        /// Revoked by this report.
        case revoked
        /// Recorded in the audit log by this report; still working.
        case flagged
        /// Already revoked or expired: nothing to do.
        case alreadyInactive = "already_inactive"
        /// Not a key of this product (malformed, or no such key).
        case notAKey = "not_a_key"
    }

    /// The reported secret's hint, which for a key's secret rotated out
    /// and still in its grace period is not the key's (or the redacted
    /// text of what was reported, for no key).
    public let hint: String
    public let isKey: Bool
    public let outcome: Outcome
}

extension KeygateService {
    /// Handles keys a scanning service (GitHub's secret scanning, say) found
    /// in public: for each, whether it is one of this product's keys, and,
    /// if live, revokes or flags it. The answer names no organization or
    /// key id, so a reporter learns only true or false positive.
    public func reportLeaked(_ reports: [LeakedKeyReport], action: LeakAction, actor: String?) throws(ServiceError)
        -> [LeakFinding]
    {
        let now = clock.now()
        return try reports.map { report throws(ServiceError) -> LeakFinding in
            let lookup = try store { () throws(KeyStoreError) in try storage.find(secret: report.key) }
            guard case .found(let match) = lookup else {
                return LeakFinding(hint: keyFormat.redacted(report.key), isKey: false, outcome: .notAKey)
            }
            let key = match.key
            // The secret reported, which may be one a rotation left in its
            // grace period: named as the key's current one, it sent its
            // holder to rotate, which leaves the leaked one working.
            let secret = LeakedSecret(hint: keyFormat.redacted(report.key), expiresAt: match.secretExpiresAt)
            guard key.state(at: now) == .live else {
                return LeakFinding(hint: secret.hint, isKey: true, outcome: .alreadyInactive)
            }
            // Cut to 300 bytes between characters, the revocation's reason
            // ("reported leaked at …") stays within the 400 bytes a reason
            // may have. Cut to 300 scalars, a place in CJK or emoji failed
            // the whole report and left its keys live.
            let location = report.location.flatMap(KeyValidator.reported)
            let reportedAt = location.map { "reported leaked at \($0)" } ?? "reported leaked"
            switch action {
            case .revoke:
                // The revocation and the report's event commit together.
                try atomically { service throws(ServiceError) in
                    try service.store { () throws(KeyStoreError) in
                        _ = try service.storage.revoke(id: key.id, organizationId: key.organizationId,
                                                       actor: actor ?? "leak_report", reason: reportedAt)
                        try service.storage.appendEvent(key.leakEvent(revoked: true, secret: secret, location: location))
                    }
                }
                return LeakFinding(hint: secret.hint, isKey: true, outcome: .revoked)
            case .flag:
                try store { () throws(KeyStoreError) in
                    try storage.flagLeaked(id: key.id, organizationId: key.organizationId, secret: secret,
                                           actor: actor ?? "leak_report", location: location)
                }
                return LeakFinding(hint: secret.hint, isKey: true, outcome: .flagged)
            }
        }
    }
}
