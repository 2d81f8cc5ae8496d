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
    /// Verifications of the organization's keys that a process had
    /// counted and not yet written when the erasure committed (at most a
    /// flush's, this process's own included) are dropped as each process
    /// learns of it, and a flush that took them before writes none of
    /// them; counted after it, a key created since counts as ever. A
    /// process of an earlier version writes its own (docs/OPERATIONS.md,
    /// "Erasing an organization").
    public func eraseOrganization(_ organizationId: String, actor: String?) throws(ServiceError) -> OrganizationErasure {
        try store { () throws(KeyStoreError) in try storage.eraseOrganization(organizationId, actor: actor) }
    }
}
