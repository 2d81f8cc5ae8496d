import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// Verification reads the organizations of a pipelined read's keys
/// together (on PostgreSQL one statement each for their subscriptions,
/// their oldest live keys and their request counts); together they answer
/// exactly as one organization at a time.
@Suite("Organizations read together")
struct OrganizationReadTests {
    @Test(arguments: Backend.withPooler) func organizationsReadTogetherAnswerAsEachAlone(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let storage = store.storage
        var created: [String: [String]] = [:]
        // org_a: owner and partner keys, one revoked, one expired; org_b: one
        // key; org_c: no subscription and no key.
        for (organization, kind, expiresIn) in [
            ("org_a", "owner_integration", nil), ("org_b", "booking_partner", nil), ("org_a", "booking_partner", nil),
            ("org_a", "owner_integration", 1), ("org_a", "owner_integration", nil), ("org_a", "booking_partner", nil),
        ] as [(String, String, TimeInterval?)] {
            let key = try store.create(store.newKey(organization: organization, kind: kind, expiresIn: expiresIn)).key
            created[organization, default: []].append(key.id)
            store.clock.advance(by: 1)
        }
        _ = try storage.revoke(id: created["org_a"]![3], organizationId: "org_a", actor: nil)
        for (index, organization) in ["org_a", "org_b"].enumerated() {
            _ = try storage.apply(BillingEvent(eventId: "e\(index)", organizationId: organization,
                                               plan: index == 0 ? "pro" : "starter", occurredAt: store.clock.now()))
        }
        let period = Date(timeIntervalSince1970: 1_800_000_000)
        _ = try storage.add(42, to: "api.requests", periodStart: period, organizationId: "org_a", idempotencyKey: "u1", reserve: false, limit: nil)
        _ = try storage.add(7, to: "api.requests", periodStart: period, organizationId: "org_b", idempotencyKey: "u2", reserve: false, limit: nil)

        let organizations = ["org_a", "org_b", "org_c"]
        let together = try storage.subscriptions(organizationIds: organizations)
        #expect(Set(together.keys) == ["org_a", "org_b"])
        for organization in organizations {
            #expect(together[organization] == (try storage.subscription(organizationId: organization)))
        }
        #expect(together["org_b"]?.plan == "starter")

        let owner = ["owner_integration"]
        let both = ["owner_integration", "booking_partner"]
        let queries = [
            (organizationId: "org_a", kinds: owner, limit: 1),
            (organizationId: "org_a", kinds: both, limit: 10),
            (organizationId: "org_b", kinds: both, limit: 10),
            (organizationId: "org_c", kinds: both, limit: 10),
            (organizationId: "org_a", kinds: [], limit: 10),
            (organizationId: "org_a", kinds: ["booking_partner"], limit: 0),
        ]
        let oldest = try storage.liveKeyIds(queries)
        #expect(oldest == (try queries.map { try storage.liveKeyIds(organizationId: $0.organizationId, kinds: $0.kinds,
                                                                        limit: $0.limit) }))
        // Oldest first; the expired and the revoked keys are not live.
        let a = created["org_a"]!
        #expect(oldest == [[a[0]], [a[0], a[1], a[4]], created["org_b"]!, [], [], []])

        let meters = [
            (organizationId: "org_a", meter: "api.requests", periodStart: period),
            (organizationId: "org_b", meter: "api.requests", periodStart: period),
            (organizationId: "org_c", meter: "api.requests", periodStart: period),
            (organizationId: "org_a", meter: "api.requests", periodStart: period.addingTimeInterval(1)),
            (organizationId: "org_a", meter: "other", periodStart: period),
        ]
        #expect(try storage.readings(meters) == [42, 7, 0, 0, 0])
        #expect(try storage.readings(meters) == (try meters.map {
            try storage.readings(organizationId: $0.organizationId, periods: [($0.meter, $0.periodStart)]).first?.used ?? 0
        }))
        #expect(try storage.liveKeyIds([]) == [] && storage.readings([]) == [])
    }
}
