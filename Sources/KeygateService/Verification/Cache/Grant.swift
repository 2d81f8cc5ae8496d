import Foundation

/// A key's access on its plan, kept with the cached key so a verification
/// derives nothing. Valid as long as its organization is.
struct Grant {
    let organization: CachedOrganization
    /// Of a kind the plan allows and within its maximum of keys.
    let isActive: Bool
    /// The key's capabilities that the plan allows, in the key's order.
    let usable: [String]
    /// The key's requests per minute, clamped to the plan's ceiling.
    let rateLimit: Int

    init(_ key: CachedRecord, in organization: CachedOrganization, at now: Date) {
        self.organization = organization
        isActive = organization.access.status(of: key, at: now) == .active
        usable = organization.access.usableCapabilities(of: key)
        rateLimit = organization.access.rateLimit(of: key)
    }
}
