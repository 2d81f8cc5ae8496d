import Foundation
import PlanCatalog

/// The plan's request quota, its current period and the requests stored for it.
typealias StoredRequests = (meter: String, quota: Quota, window: QuotaWindow, stored: Int)

/// What the store says of an organization, read outside the lock. A class,
/// so that carrying it between attempts copies nothing.
final class OrganizationSnapshot: Sendable {
    let organizationId: String
    let plan: OrganizationPlan
    let access: KeyAccess
    /// When a key expiring changes which keys are within the plan's maximum.
    let validUntil: Date?
    /// The plan's request quota, its current period and the requests stored for it.
    let requests: StoredRequests?

    init(organizationId: String, plan: OrganizationPlan, access: KeyAccess, validUntil: Date?,
         requests: StoredRequests?) {
        self.organizationId = organizationId
        self.plan = plan
        self.access = access
        self.validUntil = validUntil
        self.requests = requests
    }
}
