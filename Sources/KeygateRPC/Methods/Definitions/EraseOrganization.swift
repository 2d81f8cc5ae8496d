public import KeygateService

public enum EraseOrganization: RPCMethod {
    public static let name = "organizations.erase"
    public static let writes = true
    public static let summary = """
        Erases everything stored of an organization, in one transaction: its keys (none verifies again, in any process), \
        their secrets and usage, its subscription, meters, remembered calls, audit log and events. \
        One audit entry and one organization.erased event say that it happened, and how many keys went. \
        Whatever the plan; erasing again erases what came since.
        """
    public static let errors = organizationErrors + [.invalidActor]
    public struct Params: Decodable, Sendable {
        public var organizationId: String
        public var actor: String?
    }
    public struct Result: WireObject {
        public var erased: Bool
        public var keys: Int
        public static let fields: [WireField<Result>] = [
            .init("erased", { $0.erased }), .init("keys", { $0.keys }, "The keys erased, whatever their state."),
        ]
    }
}
