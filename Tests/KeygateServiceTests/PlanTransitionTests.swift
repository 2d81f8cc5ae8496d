import Foundation
import KeyStore
import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

@Suite("Plan changes never delete")
struct PlanTransitionTests {
    @Test(arguments: Backend.available) func freeToProToStarterToProSuspendsAndRestoresKeysOfBothKinds(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let owner = try fixture.create(kind: "owner_integration", capabilities: ["booking.read", "webhook.manage"])
        let partner = try fixture.create(kind: "booking_partner", capabilities: ["booking.create"])

        let preview = try fixture.service.preview(organizationId: "org_a", plan: "starter")
        #expect(preview.suspendedKeys == [owner.key.record.id, partner.key.record.id])

        try fixture.move(to: "starter")
        #expect(try fixture.status(owner) == .suspended)
        #expect(try fixture.status(partner) == .suspended)
        let suspended = try fixture.service.keys(organizationId: "org_a", status: .suspended, cursor: nil, limit: nil)
        #expect(suspended.keys.count == 2)
        #expect(throws: ServiceError.self) {
            try fixture.service.rotateKey(id: owner.key.record.id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)
        }

        #expect(try fixture.service.preview(organizationId: "org_a", plan: "pro").restoredKeys.count == 2)
        try fixture.move(to: "pro")
        #expect(try fixture.status(owner) == .active)
        #expect(try fixture.status(partner) == .active)
        let restored = try fixture.service.key(id: owner.key.record.id, organizationId: "org_a")
        #expect(restored.record.capabilities == ["booking.read", "webhook.manage"])
    }

    /// Reads the organization's keys of `status` by their cursors, `limit`
    /// a page: each page's size and every key read.
    func listed(_ fixture: ServiceFixture, _ status: KeyStatus, limit: Int) throws -> (pages: [Int], keys: Set<String>) {
        var pages: [Int] = []
        var seen: Set<String> = []
        var cursor: String?
        repeat {
            let page = try fixture.service.keys(organizationId: "org_a", status: status, cursor: cursor, limit: limit)
            pages.append(page.keys.count)
            seen.formUnion(page.keys.map(\.record.id))
            cursor = page.nextCursor
        } while cursor != nil && pages.count < 10
        return (pages, seen)
    }

    /// `active` and `suspended` depend on the plan, so the store cannot
    /// filter by them: the service reads pages of live keys until its own
    /// is full. Once, a page was filtered as the store had cut it, and a
    /// client listing active keys got an empty first page with a cursor.
    @Test(arguments: Backend.available) func aListFilteredByAStatusThePlanDecidesHasFullPages(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let keys = try (0..<3).map { _ in try fixture.create(kind: "owner_integration", capabilities: ["booking.read"]) }
        try fixture.move(to: "starter")
        let active = try listed(fixture, .active, limit: 2)
        #expect(active.pages == [0] && active.keys.isEmpty)
        let suspended = try listed(fixture, .suspended, limit: 2)
        #expect(suspended.pages == [2, 1] && suspended.keys == Set(keys.map(\.key.record.id)))
        #expect(try listed(fixture, .suspended, limit: 3).pages == [3])
    }

    /// Past `statusScanLimit` keys of the other status, a call answers what
    /// it found, with a cursor to the rest: an organization of many
    /// suspended keys costs a client listing its active ones more calls,
    /// not one unbounded one.
    @Test(arguments: Backend.available) func aFilteredListReadsABoundedNumberOfKeysACall(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        try imported(KeygateService.statusScanLimit + 30, into: fixture)
        let active = try listed(fixture, .active, limit: 50)
        #expect(active.pages == [0, 25] && active.keys.count == 25)
    }

    /// A full page has a cursor only when a key of its status follows.
    /// Once, a page filled by the last suspended key carried a cursor to
    /// an empty page, because active keys followed it.
    @Test(arguments: Backend.available) func aFullFilteredPageHasACursorOnlyWhenAKeyOfItsStatusFollows(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        try imported(27, into: fixture)
        #expect(try listed(fixture, .suspended, limit: 2).pages == [2])
        // The key that follows is past the store page the first was in.
        #expect(try listed(fixture, .suspended, limit: 1).pages == [1, 1])
        #expect(try listed(fixture, .active, limit: 25).pages == [25])
        let active = try listed(fixture, .active, limit: 10)
        #expect(active.pages == [10, 10, 5] && active.keys.count == 25)
        // The store reads pages of its own size; the caller's is still checked.
        for limit in [0, 201] {
            #expect(throws: ServiceError(.invalidLimit, field: "limit", ["max": "200"])) {
                try fixture.service.keys(organizationId: "org_a", status: .active, cursor: nil, limit: limit)
            }
        }
    }

    /// Imports `count` keys into org_a past the plan's maximum: Pro holds
    /// 25 active keys, so the oldest 25 stay active and the newer are
    /// suspended.
    func imported(_ count: Int, into fixture: ServiceFixture) throws {
        let imported = try fixture.storage.importKeys((0..<count).map { number in
            ImportedKey(organizationId: "org_a", name: "k\(number)", kind: "owner_integration", capabilities: ["booking.read"],
                        secret: .key(KeyRules(catalog: fixture.catalog).format.generate(environment: "live")), rateLimit: 60)
        }, limits: [:])
        #expect(imported.count == count)
    }

    @Test(arguments: Backend.available) func capabilitiesOutsideTheNewPlanStayOnTheKeyButAreUnusableUntilAnUpgrade(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "business")
        let key = try fixture.create(kind: "workspace", capabilities: ["linksRead", "customersRead", "analyticsRead"],
                                     rateLimit: 900).key.record

        let preview = try fixture.service.preview(organizationId: "org_a", plan: "pro")
        #expect(preview.suspendedKeys.isEmpty)
        #expect(preview.lostCapabilities.map(\.keyId) == [key.id])
        #expect(preview.lostCapabilities.map(\.capabilities) == [["customersRead"]])

        try fixture.move(to: "pro")
        let onPro = try fixture.service.key(id: key.id, organizationId: "org_a")
        #expect(onPro.status == .active)
        #expect(onPro.record.capabilities == ["linksRead", "customersRead", "analyticsRead"])
        #expect(onPro.usableCapabilities == ["linksRead", "analyticsRead"])
        #expect(onPro.effectiveRateLimit == 600)

        try fixture.move(to: "business")
        let back = try fixture.service.key(id: key.id, organizationId: "org_a")
        #expect(back.usableCapabilities == ["linksRead", "customersRead", "analyticsRead"])
        #expect(back.effectiveRateLimit == 900)
    }

    /// A key of a kind the new plan does not offer is suspended even where
    /// the organization is within the plan's maximum of keys (it has no
    /// key of an offered kind), and works again under a plan that offers
    /// its kind.
    @Test(arguments: Backend.available) func aKeyOfAKindTheNewPlanLacksIsSuspended(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "pro")
        let tracking = try fixture.create(name: "checkout", kind: "conversion_tracking", capabilities: ["conversionsWrite"])
        try fixture.move(to: "free")
        #expect(try fixture.status(tracking) == .suspended)
        #expect(try fixture.service.verify(VerifyRequest(key: tracking.secret.unredacted)).outcome == .planSuspended)
        try fixture.move(to: "pro")
        #expect(try fixture.status(tracking) == .active)
        #expect(try fixture.service.verify(VerifyRequest(key: tracking.secret.unredacted)).isValid)
    }

    /// Our rule for keys beyond a smaller plan's maximum: the oldest keep
    /// working, the newest beyond the limit are suspended, and revoking a
    /// working key lets the next oldest work again.
    @Test(arguments: Backend.available) func beyondTheNewMaximumTheOldestKeysKeepWorking(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "pro")
        let tracking = try fixture.create(name: "checkout", kind: "conversion_tracking", capabilities: ["conversionsWrite"])
        let keys = try (0..<3).map { index in
            try fixture.create(name: "workspace \(index)", kind: "workspace", capabilities: ["linksRead"])
        }
        let preview = try fixture.service.preview(organizationId: "org_a", plan: "free")
        #expect(preview.suspendedKeys == [tracking, keys[1], keys[2]].map(\.key.record.id))

        try fixture.move(to: "free")
        #expect(try fixture.status(tracking) == .suspended)
        #expect(try keys.map(fixture.status) == [.active, .suspended, .suspended])
        #expect(try fixture.service.keyOptions(organizationId: "org_a").canCreate == false)

        _ = try fixture.service.revokeKey(id: keys[0].key.record.id, organizationId: "org_a", actor: nil)
        #expect(try keys.map(fixture.status) == [.revoked, .active, .suspended])

        try fixture.move(to: "pro")
        #expect(try fixture.status(tracking) == .active)
        #expect(try keys.map(fixture.status) == [.revoked, .active, .active])
    }

    /// At exactly the plan's maximum every live key works, and one key
    /// beyond it the newest is suspended: in what the dashboard reads and
    /// in what verification answers from its cache.
    @Test(arguments: Backend.available) func atTheMaximumEveryKeyWorksAndOneBeyondItTheNewestIsSuspended(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "pro")
        let keys = try (0..<3).map { index in
            try fixture.create(name: "workspace \(index)", kind: "workspace", capabilities: ["linksRead"])
        }
        func outcomes() throws -> [VerifyOutcome] {
            try keys.map { try fixture.service.verify(VerifyRequest(key: $0.secret.unredacted, capability: "linksRead")).outcome }
        }
        try fixture.move(to: "free")  // at most one live workspace key
        _ = try fixture.service.revokeKey(id: keys[0].key.record.id, organizationId: "org_a", actor: nil)
        #expect(try keys.map(fixture.status) == [.revoked, .active, .suspended])
        #expect(try outcomes() == [.revoked, .valid, .planSuspended])

        _ = try fixture.service.revokeKey(id: keys[1].key.record.id, organizationId: "org_a", actor: nil)
        #expect(try keys.map(fixture.status) == [.revoked, .revoked, .active])
        #expect(try outcomes() == [.revoked, .revoked, .valid])
    }

    @Test(arguments: Backend.available) func previewChangesNothing(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        _ = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let before = try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries
        let preview = try fixture.service.preview(organizationId: "org_a", plan: "free")
        #expect(preview.from == "pro" && preview.to == "free")
        #expect(preview.quotaChanges.map(\.meter) == ["api.requests", "keys.active", "bookings"])
        #expect(try fixture.service.subscription(organizationId: "org_a").plan == "pro")
        #expect(try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries == before)
        #expect(throws: ServiceError.self) { try fixture.service.preview(organizationId: "org_a", plan: "gold") }
    }

    @Test(arguments: Backend.available) func aCanceledSubscriptionFallsBackToTheDefaultPlan(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        try fixture.move(to: "pro", status: .canceled)
        #expect(try fixture.status(key) == .suspended)
        #expect(try fixture.service.quotas(organizationId: "org_a").plan == "free")
        try fixture.move(to: "pro", status: .active)
        #expect(try fixture.status(key) == .active)
    }

    @Test(arguments: Backend.available) func pastDueKeepsThePlanWhileBillingRetries(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        try fixture.move(to: "pro", status: .pastDue)
        #expect(try fixture.status(key) == .active)
        #expect(try fixture.service.subscription(organizationId: "org_a").status == .pastDue)
    }

    @Test func transitionsHoldOnEveryExampleCatalog() throws {
        for name in ["plans.xml", "examples/booking-engine.xml", "examples/channel-manager.xml", "examples/link-platform.xml"] {
            let fixture = try ServiceFixture(catalog: name)
            let top = try #require(fixture.catalog.plans.last)
            let policy = try #require(top.apiKeys)
            try fixture.move(to: top.id)
            var created: [CreatedKey] = []
            for kind in policy.kinds {
                let capabilities = fixture.catalog.usableCapabilities(of: kind, on: top).map(\.rawValue)
                created.append(try fixture.create(kind: kind.rawValue, capabilities: capabilities))
            }
            for plan in fixture.catalog.plans.reversed() + fixture.catalog.plans {
                try fixture.move(to: plan.id)
                let preview = try fixture.service.preview(organizationId: "org_a", plan: top.id)
                for key in created {
                    let managed = try fixture.service.key(id: key.key.record.id, organizationId: "org_a")
                    #expect(managed.record == key.key.record, "\(name): a plan change altered a key")
                    let allowed = plan.apiKeys?.kinds.contains(KindID(managed.record.kind)) == true
                    #expect((managed.status == .active) == allowed || plan.apiKeys?.maxActiveKeys != nil, "\(name) \(plan.id)")
                    if managed.status == .suspended { #expect(preview.restoredKeys.contains(managed.record.id)) }
                }
            }
            #expect(try created.map(fixture.status).allSatisfy { $0 == .active }, "\(name): upgrade did not restore every key")
        }
    }
}
