import Foundation

/// An organization's plan and access, and its request quota. Lives only
/// inside ``VerificationState``'s lock.
final class CachedOrganization: ClockEntry {
    let id: String
    @exclusivity(unchecked) var referenced = false
    /// Set when a change to the organization made this stale; grants that
    /// hold it derive themselves again.
    @exclusivity(unchecked) var isForgotten = false
    let plan: OrganizationPlan
    let access: KeyAccess
    let validUntil: Date?
    let requests: RequestQuota?

    init(_ snapshot: OrganizationSnapshot, isTracked: Bool) {
        id = snapshot.organizationId
        plan = snapshot.plan
        access = snapshot.access
        validUntil = snapshot.validUntil
        requests = snapshot.requests.map { requests in
            RequestQuota(meter: requests.meter, quota: requests.quota, window: requests.window, stored: requests.stored,
                         isTracked: isTracked)
        }
    }

    func hasExpired(at now: Date) -> Bool {
        isForgotten || validUntil.map { $0 <= now } ?? false
    }
}
