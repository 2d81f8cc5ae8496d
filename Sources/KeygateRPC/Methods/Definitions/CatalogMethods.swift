public enum CatalogPlans: RPCMethod {
    public static let name = "catalog.plans"
    public static let summary = "The plans of the catalog and what each allows."
    public struct Params: Decodable, Sendable {}
    public struct Result: WireObject {
        public var defaultPlan: String
        public var plans: [PlanInfo]
        public static let fields: [WireField<Result>] = [
            .init("defaultPlan", { $0.defaultPlan }, oneOf: \.plans), .init("plans", { $0.plans }),
        ]
    }
}

public enum CatalogCapabilities: RPCMethod {
    public static let name = "catalog.capabilities"
    public static let summary = "The capabilities keys may carry and the kinds of keys."
    public struct Params: Decodable, Sendable {}
    public struct Result: WireObject {
        public var capabilities: [CapabilityInfo]
        public var kinds: [KindInfo]
        public static let fields: [WireField<Result>] = [.init("capabilities", { $0.capabilities }), .init("kinds", { $0.kinds })]
    }
}
