public import KeyStore

extension KeygateService {
    /// Erases everything Keygate stores of an organization: its keys (so
    /// that none verifies again, in any process, from its next
    /// verification), their secrets and usage, its subscription and
    /// billing event ids, its meters, its remembered calls, its audit log
    /// and its events; then records that it happened, and no more, in one
    /// audit entry and one `organization.erased` event
    /// (``KeyStorage/eraseOrganization(_:actor:)``). Whatever the plan, and
    /// for an organization with nothing stored too: erasing twice erases
    /// what came after the first.
    ///
    /// Counts of the organization's keys' verifications that a process
    /// had taken and not yet written when the erasure committed (at most a
    /// flush interval's) are written after it: a request count of the
    /// period, under no key (docs/OPERATIONS.md, "Erasing an organization").
    public func eraseOrganization(_ organizationId: String, actor: String?) throws(ServiceError) -> OrganizationErasure {
        try store { () throws(KeyStoreError) in try storage.eraseOrganization(organizationId, actor: actor) }
    }
}
