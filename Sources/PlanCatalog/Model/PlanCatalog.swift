/// The plans a product sells and what each allows of API keys: an immutable
/// value, checked in full when it was loaded, and safe to share across threads.
///
/// Load it from XML with ``PlanCatalog/load(contentsOf:)``:
///
/// ```swift
/// let catalog = try PlanCatalog.load(contentsOf: URL(filePath: "Plans/plans.xml"))
/// let pro = catalog.plan("pro")
/// pro?.apiKeys?.rateLimit.maxPerMinute // 1000
/// ```
///
/// Every id a catalog refers to is declared in it, so the lookups below only
/// answer `nil` for ids that come from outside (a request, a stored key).
public struct PlanCatalog: Sendable {
    public let keys: KeySettings
    /// The capability registry, in catalog order.
    public let capabilities: [Capability]
    public let kinds: [KeyKind]
    public let meters: [Meter]
    /// The plans from the cheapest to the most expensive.
    public let plans: [Plan]
    /// The plan of an organization that billing has never named.
    public let defaultPlan: Plan
    /// Empty when the catalog has no route table.
    public let routes: RouteTable
    /// The SHA-256 of the bytes the catalog was loaded from, in lowercase
    /// hex, as `sha256sum` prints it: what tells whether processes sharing
    /// a database serve with one catalog (two files that differ only in a
    /// comment count as different).
    public internal(set) var digest: String = ""

    private let capabilityIndex: [CapabilityID: Capability]
    private let kindIndex: [KindID: KeyKind]
    private let meterIndex: [MeterID: Meter]
    private let planIndex: [PlanID: Plan]
    /// Per plan, and per kind on it, the ids of the capabilities its keys
    /// may use (``usableCapabilities(of:on:)``): the same for every
    /// organization on the plan, so built once here rather than with each
    /// organization's key access, which held a copy each (memory in every
    /// cached organization, and work at every cache miss).
    private let usableIndex: [PlanID: [String: Set<String>]]

    /// Only the loader builds a catalog, after checking every rule.
    init(
        keys: KeySettings,
        capabilities: [Capability],
        kinds: [KeyKind],
        meters: [Meter],
        plans: [Plan],
        defaultPlan: Plan,
        routes: RouteTable
    ) {
        self.keys = keys
        self.capabilities = capabilities
        self.kinds = kinds
        self.meters = meters
        self.plans = plans
        self.defaultPlan = defaultPlan
        self.routes = routes
        capabilityIndex = Dictionary(uniqueKeysWithValues: capabilities.map { ($0.id, $0) })
        kindIndex = Dictionary(uniqueKeysWithValues: kinds.map { ($0.id, $0) })
        meterIndex = Dictionary(uniqueKeysWithValues: meters.map { ($0.id, $0) })
        planIndex = Dictionary(uniqueKeysWithValues: plans.map { ($0.id, $0) })
        let kindIndex = self.kindIndex
        usableIndex = Dictionary((plans + [defaultPlan]).map { plan in
            (plan.id, Self.usableTable(on: plan, kinds, kindIndex))
        }, uniquingKeysWith: { first, _ in first })
    }

    public func capability(_ id: CapabilityID) -> Capability? { capabilityIndex[id] }
    public func kind(_ id: KindID) -> KeyKind? { kindIndex[id] }
    public func meter(_ id: MeterID) -> Meter? { meterIndex[id] }
    public func plan(_ id: PlanID) -> Plan? { planIndex[id] }

    /// The meter counted from a source, such as the one `keys.verify` counts.
    public func meter(source: MeterSource) -> Meter? {
        meters.first { $0.source == source }
    }

    /// What a key of `kind` may carry on `plan`: what the kind admits and the
    /// plan allows, in catalog order. Empty when the plan has no API keys or
    /// does not allow the kind.
    public func usableCapabilities(of kind: KindID, on plan: Plan) -> [CapabilityID] {
        Self.usable(of: kind, on: plan, kindIndex)
    }

    /// The ids of the capabilities each kind's keys may use on `plan`, by
    /// the kind's id: ``usableCapabilities(of:on:)`` for every kind at once,
    /// built when the catalog was, and shared by every caller.
    public func usableCapabilityIds(on plan: Plan) -> [String: Set<String>] {
        usableIndex[plan.id] ?? Self.usableTable(on: plan, kinds, kindIndex)
    }

    private static func usableTable(on plan: Plan, _ kinds: [KeyKind], _ kindIndex: [KindID: KeyKind])
        -> [String: Set<String>]
    {
        Dictionary(uniqueKeysWithValues: kinds.map { kind in
            (kind.id.rawValue, Set(usable(of: kind.id, on: plan, kindIndex).map(\.rawValue)))
        })
    }

    private static func usable(of kind: KindID, on plan: Plan, _ kindIndex: [KindID: KeyKind]) -> [CapabilityID] {
        guard let policy = plan.apiKeys, policy.kinds.contains(kind), let scope = kindIndex[kind]?.capabilities else {
            return []
        }
        return policy.capabilities.filter(scope.contains)
    }

    /// The cheapest plan that satisfies a condition, for messages such as
    /// "API keys come with the Pro plan".
    public func cheapestPlan(where condition: (Plan) -> Bool) -> Plan? {
        plans.first(where: condition)
    }
}
