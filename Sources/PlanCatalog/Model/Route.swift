/// One entry of the route table: the capability that requests with these
/// methods to paths matching this pattern need.
public struct Route: Sendable, Hashable {
    public let methods: [HTTPMethod]
    public let pattern: RoutePattern
    public let capability: CapabilityID

    public init(methods: [HTTPMethod], pattern: RoutePattern, capability: CapabilityID) {
        self.methods = methods
        self.pattern = pattern
        self.capability = capability
    }
}
