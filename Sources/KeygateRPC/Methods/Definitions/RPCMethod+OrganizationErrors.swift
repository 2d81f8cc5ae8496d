import KeygateService

// This folder defines every method of the contract (docs/PROTOCOL.md),
// grouped as that document groups them: its name, summary, the types of
// its params and result, and the error codes it can answer. The handlers
// are in KeygateMethods; rpc.discover is generated from these.

extension RPCMethod {
    /// Error codes that a method working on one organization can answer.
    static var organizationErrors: [ServiceError.Code] { [.invalidOrganizationId, .storageFailure] }
}
