import Foundation
import KeygateTestSupport
import PlanCatalog
import Testing

@Suite("The shipped catalog, Plans/plans.xml")
struct ShippedCatalogTests {
    let catalog: PlanCatalog

    init() throws {
        catalog = try PlanCatalog.load(contentsOf: Paths.plans("plans.xml"))
    }

    /// A product that embeds the library gets the same files without a checkout.
    @Test func theLibraryCarriesTheCatalogAndItsExamplesAsResources() throws {
        #expect(try PlanCatalog.load(contentsOf: PlanCatalog.shippedCatalog).plans.map(\.id) == catalog.plans.map(\.id))
        for file in ["plans.xml", "plans.xsd", "examples/booking-engine.xml", "examples/channel-manager.xml",
                     "examples/link-platform.xml"] {
            #expect(try Data(contentsOf: PlanCatalog.shipped.appending(path: file)) == Data(contentsOf: Paths.plans(file)), "\(file)")
        }
        _ = try PlanCatalog.load(contentsOf: PlanCatalog.shipped.appending(path: "examples/link-platform.xml"))
    }

    /// The digest processes compare is the one an operator can compute
    /// from the file, and one byte more makes it another catalog.
    @Test func theDigestIsTheFilesSHA256AsSha256sumPrintsIt() throws {
        let printed = try ToolRun("sha256sum", [Paths.plans("plans.xml").path]).output
        #expect(catalog.digest.count == 64)
        #expect(printed.hasPrefix(catalog.digest + " "), "\(printed)")

        var bytes = try [UInt8](Data(contentsOf: Paths.plans("plans.xml")))
        bytes += Array("<!-- edited -->\n".utf8)
        let edited = try PlanCatalog.parse(bytes, source: "edited.xml")
        #expect(edited.plans.map(\.id) == catalog.plans.map(\.id))
        #expect(edited.digest != catalog.digest)
    }

    @Test func plansAreFreeStarterProFromCheapestWithFreeAsDefault() {
        #expect(catalog.plans.map(\.id) == ["free", "starter", "pro"])
        #expect(catalog.plans.map(\.tier) == [0, 1, 2])
        #expect(catalog.defaultPlan.id == "free")
        #expect(catalog.plans.map(\.nameKey) == ["plan.free", "plan.starter", "plan.pro"])
    }

    @Test func keysAreBrandedKgInLiveAndTest() {
        #expect(catalog.keys.prefix == "kg")
        #expect(catalog.keys.environments == ["live", "test"])
    }

    @Test func capabilityRegistryHasEveryCapabilityWithADescriptionKey() {
        #expect(catalog.capabilities.map(\.id) == [
            "availability.read", "booking.create", "booking.read", "booking.cancel",
            "services.read", "staff.read", "webhook.manage", "subscription.read",
        ])
        for capability in catalog.capabilities {
            #expect(capability.descriptionKey == "capability.\(capability.id)")
        }
    }

    @Test func apiKeysAreAProFeature() {
        #expect(catalog.plan("free")?.apiKeys == nil)
        #expect(catalog.plan("starter")?.apiKeys == nil)
        #expect(catalog.cheapestPlan(where: \.allowsAPIKeys)?.id == "pro")
    }

    @Test func proAllowsBothKindsEveryCapabilityAndTheDocumentedLimits() throws {
        let pro = try #require(catalog.plan("pro")?.apiKeys)
        #expect(pro.kinds == ["owner_integration", "booking_partner"])
        #expect(pro.capabilities == catalog.capabilities.map(\.id))
        #expect(pro.rateLimit == RateLimitPolicy(defaultPerMinute: 60, maxPerMinute: 1000))
        #expect(pro.maxActiveKeys == 25)
        #expect(pro.maxLifetimeDays == 365)
    }

    @Test func ownerIntegrationKeysCarryAnythingTheirPlanAllows() throws {
        let pro = try #require(catalog.plan("pro"))
        #expect(catalog.kind("owner_integration")?.capabilities == .any)
        #expect(catalog.usableCapabilities(of: "owner_integration", on: pro) == pro.apiKeys?.capabilities)
    }

    @Test func bookingPartnerKeysCarryOnlyTheFourBookingCapabilities() throws {
        let pro = try #require(catalog.plan("pro"))
        #expect(catalog.usableCapabilities(of: "booking_partner", on: pro)
            == ["availability.read", "booking.create", "services.read", "staff.read"])
    }

    @Test func noKindIsUsableOnPlansWithoutKeys() throws {
        let free = try #require(catalog.plan("free"))
        #expect(catalog.usableCapabilities(of: "owner_integration", on: free).isEmpty)
    }

    @Test func everyPlanHasRequestKeyAndBookingQuotasThatDifferByPlan() {
        let meters = catalog.meters.map(\.id)
        #expect(meters == ["api.requests", "keys.active", "bookings"])
        #expect(catalog.meter(source: .verifications)?.id == "api.requests")
        #expect(catalog.meter(source: .activeKeys)?.id == "keys.active")
        for plan in catalog.plans {
            #expect(plan.quotas.map(\.meter) == meters, "plan \(plan.id)")
            #expect(plan.quota(for: "api.requests")?.period == .month)
            #expect(plan.quota(for: "keys.active")?.period == QuotaPeriod.none)
        }
        let bookings = catalog.plans.map { $0.quota(for: "bookings")?.limit }
        #expect(bookings == [100, 1000, nil])
        #expect(catalog.plans.map { $0.quota(for: "keys.active")?.limit } == [0, 0, 25])
    }

    @Test func hasNoRouteTable() {
        #expect(catalog.routes.isEmpty)
    }

    @Test func shippedSchemaFileIsTheSchemaTheLoaderUses() throws {
        let file = try String(contentsOf: Paths.plans("plans.xsd"), encoding: .utf8)
        #expect(file == PlanCatalog.schema + "\n", "regenerate with: keygate catalog schema > Plans/plans.xsd")
    }
}
