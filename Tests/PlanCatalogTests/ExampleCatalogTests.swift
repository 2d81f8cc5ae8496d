import Foundation
import PlanCatalog
import Testing

/// The same schema expresses other products' key models.
@Suite("Example catalogs in Plans/examples")
struct ExampleCatalogTests {
    @Test func bookingEngineKeysCarryReadAndOrWriteWithPerKeyRateLimits() throws {
        let catalog = try PlanCatalog.load(contentsOf: Paths.plans("examples/booking-engine.xml"))
        #expect(catalog.keys.prefix == "be")
        #expect(catalog.capabilities.map(\.id) == ["read", "write"])
        let professional = try #require(catalog.plan("professional"))
        #expect(catalog.usableCapabilities(of: "server", on: professional) == ["read", "write"])
        #expect(catalog.usableCapabilities(of: "widget", on: professional) == ["read"])
        #expect(professional.apiKeys?.rateLimit == RateLimitPolicy(defaultPerMinute: 60, maxPerMinute: 1000))
        let basic = try #require(catalog.plan("basic"))
        #expect(basic.apiKeys?.kinds == ["widget"])
        #expect(catalog.usableCapabilities(of: "server", on: basic).isEmpty)
        #expect(basic.quota(for: "api.requests")?.period == .day)
    }

    /// The table of usable capabilities built with the catalog, which every
    /// organization's key access shares, says for every plan and kind what
    /// ``PlanCatalog/usableCapabilities(of:on:)`` says.
    @Test(arguments: ["plans.xml", "examples/booking-engine.xml", "examples/channel-manager.xml",
                      "examples/link-platform.xml"])
    func theSharedTableOfUsableCapabilitiesAgreesWithEachPlan(_ file: String) throws {
        let catalog = try PlanCatalog.load(contentsOf: Paths.plans(file))
        for plan in catalog.plans + [catalog.defaultPlan] {
            let table = catalog.usableCapabilityIds(on: plan)
            #expect(Set(table.keys) == Set(catalog.kinds.map(\.id.rawValue)))
            for kind in catalog.kinds {
                #expect(table[kind.id.rawValue] == Set(catalog.usableCapabilities(of: kind.id, on: plan).map(\.rawValue)))
            }
        }
    }

    @Test func channelManagerKeysComeByPurposeWithAReadAndAPostKeyEach() throws {
        let catalog = try PlanCatalog.load(contentsOf: Paths.plans("examples/channel-manager.xml"))
        #expect(catalog.keys.environments == ["prod", "sandbox"])
        let connect = try #require(catalog.plan("connect"))
        for purpose in ["mapping", "ari", "booking"] {
            for access in ["read", "post"] {
                let kind = KindID("\(purpose)_\(access)")
                #expect(catalog.usableCapabilities(of: kind, on: connect) == [CapabilityID("\(purpose).\(access)")])
            }
        }
        let essentials = try #require(catalog.plan("essentials"))
        #expect(essentials.apiKeys?.kinds == ["mapping_read", "ari_read"])
        #expect(catalog.usableCapabilities(of: "ari_post", on: essentials).isEmpty)
    }

    @Test func linkPlatformHasResourceScopesAndARouteForEachOfThem() throws {
        let catalog = try PlanCatalog.load(contentsOf: Paths.plans("examples/link-platform.xml"))
        let scopes: [CapabilityID] = [
            "linksRead", "linksWrite", "collectionsRead", "collectionsWrite", "tagsRead", "tagsWrite",
            "analyticsRead", "conversionsWrite", "customersRead", "customersWrite", "partnersRead", "partnersWrite",
        ]
        #expect(catalog.capabilities.map(\.id) == scopes)
        #expect(Set(catalog.routes.routes.map(\.capability)) == Set(scopes))
        #expect(catalog.plan("business")?.apiKeys?.capabilities == scopes)
        #expect(catalog.plan("free")?.apiKeys?.capabilities.contains("analyticsRead") == false)
    }

    @Test(arguments: [
        ("GET", "/api/links", "linksRead"),
        ("GET", "/api/links/link_123", "linksRead"),
        ("GET", "/api/links/info?domain=dub.sh&key=x", "linksRead"),
        ("POST", "/api/links", "linksWrite"),
        ("PUT", "/api/links", "linksWrite"),
        ("DELETE", "/api/links", "linksWrite"),
        ("PATCH", "/api/links/link_123", "linksWrite"),
        ("PUT", "/api/links/upsert", "linksWrite"),
        ("POST", "/api/links/bulk", "linksWrite"),
        ("GET", "/api/collections", "collectionsRead"),
        ("DELETE", "/api/collections/col_1", "collectionsWrite"),
        ("GET", "/api/tags", "tagsRead"),
        ("PATCH", "/api/tags/tag_1", "tagsWrite"),
        ("GET", "/api/analytics", "analyticsRead"),
        ("GET", "/api/analytics/timeseries/daily", "analyticsRead"),
        ("GET", "/api/events", "analyticsRead"),
        ("POST", "/api/track/lead", "conversionsWrite"),
        ("POST", "/api/track/sale", "conversionsWrite"),
        ("GET", "/api/customers/cus_1", "customersRead"),
        ("POST", "/api/customers", "customersWrite"),
        ("GET", "/api/partners/links", "partnersRead"),
        ("POST", "/api/partners/links", "partnersWrite"),
        ("PATCH", "/api/partners/pn_1", "partnersWrite"),
        ("HEAD", "/api/links/link_123", "linksRead"),
        ("get", "/api/tags/", "tagsRead"),
    ] as [(String, String, String)])
    func linkPlatformRoutesMapRequestsToScopes(method: String, path: String, scope: String) throws {
        let catalog = try PlanCatalog.load(contentsOf: Paths.plans("examples/link-platform.xml"))
        #expect(catalog.routes.capability(method: method, path: path) == CapabilityID(scope))
    }

    @Test(arguments: [
        ("GET", "/api/track/lead"),
        ("DELETE", "/api/analytics"),
        ("GET", "/api/unknown"),
        ("GET", "/api/links/a/b"),
        ("BREW", "/api/links"),
        ("GET", "api/links"),
        ("GET", "/api/analytics/../customers"),
        ("GET", "/api/analytics/%2e%2e/customers"),
        ("GET", "/api/links/a%2Fb"),
    ] as [(String, String)])
    func linkPlatformRefusesRequestsNoRouteServes(method: String, path: String) throws {
        let catalog = try PlanCatalog.load(contentsOf: Paths.plans("examples/link-platform.xml"))
        #expect(catalog.routes.capability(method: method, path: path) == nil)
    }
}
