/// What a billing event said, as a store keeps it beside its id: the
/// event a second delivery under the id is compared with
/// (``checkReplay(of:)``), and the one each delivery stores, as
/// ``UsageDelivery`` is for `usage.record`.
package struct BillingDelivery {
    /// The columns a store reads it from, in the order of ``init(organizationId:occurredAt:plan:status:periodStart:periodEnd:)``.
    package static let columns = "organization_id, occurred_at, plan, status, period_start, period_end"

    package let organizationId: String
    package let occurredAt: Int64
    /// `nil` in rows written before schema v19 (PostgreSQL 17), which kept
    /// only the organization and the time.
    package let plan: String?
    package let status: String?
    /// To the millisecond stored.
    package let periodStart: Int64?
    package let periodEnd: Int64?

    package init(organizationId: String, occurredAt: Int64, plan: String?, status: String?,
                 periodStart: Int64?, periodEnd: Int64?) {
        self.organizationId = organizationId
        self.occurredAt = occurredAt
        self.plan = plan
        self.status = status
        self.periodStart = periodStart
        self.periodEnd = periodEnd
    }

    /// Refuses a delivery under an event id first seen with another event:
    /// billing sends one event under one id, so anything else is an id
    /// reused by mistake (a change sent under the id of the one before),
    /// and answering it as a replay would drop the change unseen. Texts are
    /// compared byte for byte, as the database keys them.
    package func checkReplay(of first: BillingDelivery) throws(KeyStoreError) {
        let differs: String? =
            if !first.organizationId.isSameText(as: organizationId) { "organizationId" }
            else if first.occurredAt != occurredAt { "occurredAt" }
            // Remembered before schema v19 (PostgreSQL 17), or by a process
            // of the version before: the rest was not kept. (A delivery
            // being sent always names its plan.)
            else if let stored = first.plan {
                if !stored.isSameText(as: plan ?? "") { "plan" }
                else if first.status != status { "status" }
                else if first.periodStart != periodStart { "periodStart" }
                else if first.periodEnd != periodEnd { "periodEnd" } else { nil }
            } else { nil }
        if let differs { throw KeyStoreError(.eventIdReused, field: "eventId", ["differs": differs]) }
    }
}
