import Foundation
import KeyStore
import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

@Suite("Plan gates on keys")
struct KeyGateTests {
    @Test(arguments: ["free", "starter"])
    func plansWithoutKeysRefuseCreationNamingTheCheapestPlanWithKeys(plan: String) throws {
        let fixture = try ServiceFixture()
        try fixture.move(to: PlanID(plan))
        #expect {
            try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        } throws: { error in
            let error = error as? ServiceError
            return error?.code == .planForbidsAPIKeys && error?.parameters["plan"] == plan
                && error?.parameters["requiredPlan"] == "pro"
        }
    }

    @Test(arguments: Backend.available) func anOrganizationBillingNeverNamedIsOnTheDefaultPlan(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let subscription = try fixture.service.subscription(organizationId: "org_new")
        #expect(subscription.plan == "free")
        #expect(subscription.updatedAt == nil)
        #expect(throws: ServiceError.self) { try fixture.create("org_new", kind: "owner_integration", capabilities: ["booking.read"]) }
    }

    @Test(arguments: Backend.available) func proCreatesKeysOfBothKindsWithThePlanDefaults(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let owner = try fixture.create(kind: "owner_integration", capabilities: ["webhook.manage", "booking.read"])
        #expect(owner.key.status == .active)
        #expect(owner.key.record.rateLimit == 60)
        #expect(owner.key.record.environment == "live")
        // Pro keys live at most 365 days, so a key asked for without expiry gets that.
        #expect(owner.key.record.expiresAt == fixture.clock.now().addingTimeInterval(365 * 86_400))
        let partner = try fixture.create(kind: "booking_partner", capabilities: ["booking.create", "availability.read"])
        #expect(partner.key.usableCapabilities == ["booking.create", "availability.read"])
    }

    /// A creation sent again once the plan would refuse it, or its expiry
    /// has passed: the key exists, and the retry is told so, not that a
    /// creation is refused; another creation under the key still is.
    @Test(arguments: Backend.available) func aRetryIsToldOfItsKeyWhateverThePlanOrTheClockSaysNow(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        func request(_ idempotencyKey: String, expiresAt: Date? = nil, rateLimit: Int? = nil) -> CreateKeyRequest {
            CreateKeyRequest(organizationId: "org_a", name: "Zapier", kind: "owner_integration", capabilities: ["booking.read"],
                             expiresAt: expiresAt, rateLimit: rateLimit, idempotencyKey: idempotencyKey)
        }
        let expiring = request("form-2", expiresAt: fixture.clock.now().addingTimeInterval(3_600))
        let first = try fixture.service.createKey(request("form-1", rateLimit: 100)).key.record.id
        let second = try fixture.service.createKey(expiring).key.record.id
        try fixture.move(to: "starter")
        fixture.clock.advance(by: 7_200)
        #expect(throws: ServiceError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": first])) {
            try fixture.service.createKey(request("form-1", rateLimit: 100))
        }
        #expect(throws: ServiceError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": second])) {
            try fixture.service.createKey(expiring)
        }
        #expect(throws: ServiceError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "rateLimit"])) {
            try fixture.service.createKey(request("form-1"))
        }
        #expect(throws: ServiceError.self, "a new creation is refused by the plan") {
            try fixture.service.createKey(request("form-3"))
        }
        try fixture.move(to: "pro")
        #expect(throws: ServiceError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": first])) {
            try fixture.service.createKey(request("form-1", rateLimit: 100))
        }
        // The plan allows it again, and the store's own check refuses the expiry passed since.
        #expect(throws: ServiceError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": second])) {
            try fixture.service.createKey(expiring)
        }
        #expect(try fixture.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys.count == 2)
    }

    /// A rotation sent again once the plan would refuse a rotation: the
    /// key was rotated, and the retry is told so, not that rotations are
    /// refused; another rotation under the key still is.
    @Test(arguments: Backend.available) func aRotationRetryIsToldOfItsRotationWhateverThePlanSaysNow(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let id = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"]).key.record.id
        func rotate(_ idempotencyKey: String?, grace: Int = 600) throws(ServiceError) -> CreatedKey {
            try fixture.service.rotateKey(id: id, organizationId: "org_a", gracePeriodSeconds: grace, actor: nil,
                                          idempotencyKey: idempotencyKey)
        }
        let rotated = try rotate("rotate-1")
        let alreadyRotated = ServiceError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": id])
        #expect(throws: alreadyRotated) { try rotate("rotate-1") }
        try fixture.move(to: "free")
        #expect(throws: alreadyRotated) { try rotate("rotate-1") }
        #expect(throws: ServiceError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "gracePeriodSeconds"])) {
            try rotate("rotate-1", grace: 0)
        }
        #expect(throws: ServiceError.self, "a new rotation is refused by the plan") { try rotate("rotate-2") }
        #expect(throws: ServiceError.self, "and so is one without an idempotency key") { try rotate(nil) }
        try fixture.move(to: "pro")
        #expect(throws: alreadyRotated) { try rotate("rotate-1") }
        #expect(try fixture.service.key(id: id, organizationId: "org_a").record.hint == rotated.key.record.hint)
        #expect(try fixture.service.key(id: id, organizationId: "org_a").previousSecrets.count == 1)
    }

    @Test(arguments: Backend.available) func aBookingPartnerKeyCanNeverCarryMoreThanItsKindAllows(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        #expect(throws: ServiceError(.capabilityNotAllowedForKind, field: "capabilities",
                                     ["capability": "webhook.manage", "kind": "booking_partner",
                                      "kindName": "kind.booking_partner"])) {
            try fixture.create(kind: "booking_partner", capabilities: ["booking.create", "webhook.manage"])
        }
    }

    @Test(arguments: Backend.available) func rateLimitAboveTheCeilingAndLifetimeAboveTheMaximumAreRefused(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        #expect(try fixture.create(kind: "owner_integration", capabilities: ["booking.read"], rateLimit: 1000)
            .key.record.rateLimit == 1000)
        #expect {
            try fixture.create(kind: "owner_integration", capabilities: ["booking.read"],
                               expiresAt: fixture.clock.now().addingTimeInterval(366 * 86_400))
        } throws: { error in
            let error = error as? ServiceError
            return error?.code == .lifetimeAbovePlan && error?.parameters["maxDays"] == "365"
                && error?.parameters["requiredPlan"] == nil
        }
        #expect(throws: ServiceError(.unknownCapability, field: "capabilities", ["capability": "booking.delete"])) {
            try fixture.create(kind: "owner_integration", capabilities: ["booking.delete"])
        }
    }

    @Test(arguments: Backend.available) func gatesNameTheCheapestPlanThatWouldAllowTheRequest(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        func refusal(_ body: () throws -> Void) -> ServiceError? {
            do { try body(); return nil } catch { return error as? ServiceError }
        }
        let analytics = refusal { _ = try fixture.create(kind: "workspace", capabilities: ["analyticsRead"]) }
        #expect(analytics?.code == .capabilityNotAllowed)
        #expect(analytics?.parameters["requiredPlan"] == "pro")
        let customers = refusal { _ = try fixture.create(kind: "workspace", capabilities: ["customersRead"]) }
        #expect(customers?.parameters["requiredPlan"] == "business")
        let tracking = refusal { _ = try fixture.create(kind: "conversion_tracking", capabilities: ["conversionsWrite"]) }
        #expect(tracking?.code == .kindNotAllowed)
        #expect(tracking?.parameters["requiredPlan"] == "pro")
        let fast = refusal { _ = try fixture.create(kind: "workspace", capabilities: ["linksRead"], rateLimit: 61) }
        #expect(fast?.code == .rateLimitAbovePlan)
        #expect(fast?.parameters["max"] == "60")

        _ = try fixture.create(kind: "workspace", capabilities: ["linksRead"])
        let second = refusal { _ = try fixture.create(kind: "workspace", capabilities: ["linksRead"]) }
        #expect(second?.code == .keyLimitReached)
        #expect(second?.parameters["limit"] == "1")
        #expect(second?.parameters["requiredPlan"] == "pro")
    }

    @Test(arguments: Backend.available) func keyOptionsAnswerWithTheSameGatesAsCreate(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let free = try fixture.service.keyOptions(organizationId: "org_a")
        #expect(!free.canCreate)
        #expect(free.reason?.code == .planForbidsAPIKeys)
        #expect(free.kinds.isEmpty)

        try fixture.move(to: "pro")
        let pro = try fixture.service.keyOptions(organizationId: "org_a")
        #expect(pro.canCreate && pro.reason == nil)
        #expect(pro.kinds.map(\.kind.id) == ["owner_integration", "booking_partner"])
        #expect(pro.kinds[1].capabilities.map(\.id) == ["availability.read", "booking.create", "services.read", "staff.read"])
        #expect(pro.rateLimit == RateLimitPolicy(defaultPerMinute: 60, maxPerMinute: 1000))
        #expect(pro.maxActiveKeys == 25 && pro.activeKeys == 0 && pro.maxLifetimeDays == 365)

        let link = try ServiceFixture(catalog: "examples/link-platform.xml")
        _ = try link.create(kind: "workspace", capabilities: ["linksRead"])
        let full = try link.service.keyOptions(organizationId: "org_a")
        #expect(!full.canCreate)
        #expect(full.reason?.code == .keyLimitReached)
        #expect(full.activeKeys == 1)
    }

    @Test(arguments: Backend.available) func updatesAreGatedLikeCreation(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        let key = try fixture.create(kind: "workspace", capabilities: ["linksRead"]).key.record
        #expect(throws: ServiceError.self) {
            try fixture.service.updateKey(id: key.id, organizationId: "org_a",
                                          changes: KeyChanges(capabilities: ["analyticsRead"]), actor: nil)
        }
        #expect(throws: ServiceError.self) {
            try fixture.service.updateKey(id: key.id, organizationId: "org_a", changes: KeyChanges(rateLimit: 120), actor: nil)
        }
        let renamed = try fixture.service.updateKey(id: key.id, organizationId: "org_a",
                                                    changes: KeyChanges(name: "CLI"), actor: nil)
        #expect(renamed.record.name == "CLI")
    }

    /// Creations at once, from one process and from four (four stores on
    /// one database, as four hosts would be), never pass the plan's
    /// limit of live keys.
    @Test(arguments: Backend.available) func concurrentCreatesNeverExceedThePlansKeyLimit(_ backend: Backend) async throws {
        let processes = try ServiceFixture.processes(4, catalog: "examples/booking-engine.xml", backend: backend)
        let first = processes[0]
        for (organization, plan, limit, creators) in [("org_a", "basic", 2, [first]), ("org_b", "professional", 20, processes)] {
            try first.move(organization, to: PlanID(plan))
            let created = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<40 {
                    let process = creators[index % creators.count]
                    group.addTask {
                        (try? process.create(organization, name: "widget \(index)", kind: "widget", capabilities: ["read"])) != nil
                    }
                }
                return await group.reduce(0) { $0 + ($1 ? 1 : 0) }
            }
            #expect(created == limit, "\(organization)")
        }
    }
}
