import Foundation
import KeyStore
@testable import KeygateService
import KeygateTestSupport
import Testing

/// `usage.get` as a person reads it: what was refused and why, and what was asked for.
@Suite("Usage by outcome and capability")
struct UsageBreakdownTests {
    @Test(arguments: Backend.available) func countsAreBrokenDownByRefusalAndCapability(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"], rateLimit: 1)
        let other = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let service = fixture.service
        let verify = { (created: CreatedKey, capability: String?) throws(ServiceError) -> VerifyOutcome in
            try service.verify(VerifyRequest(key: created.secret.unredacted, capability: capability)).outcome
        }
        #expect(try verify(key, "booking.read") == .valid)
        #expect(try verify(key, "booking.read") == .rateLimited)        // one a minute
        fixture.clock.advance(by: 61)
        #expect(try verify(key, "booking.cancel") == .insufficientCapability)
        #expect(try verify(key, nil) == .valid)                          // authenticates only: no capability
        _ = try fixture.service.revokeKey(id: key.key.record.id, organizationId: "org_a", actor: nil)
        #expect(try verify(key, "booking.read") == .revoked)
        #expect(try verify(other, "booking.read") == .valid)
        try fixture.service.flushUsage()

        let today = fixture.clock.now()
        let byKey = try fixture.service.usage(organizationId: "org_a", keyId: key.key.record.id, from: today, to: today)
        #expect(byKey.count == 1)
        #expect(byKey.first?.valid == 2 && byKey.first?.invalid == 3)
        #expect(byKey.first?.refusals == ["rate_limited": 1, "insufficient_capability": 1, "revoked": 1])
        #expect(byKey.first?.capabilities == ["booking.read": 3, "booking.cancel": 1])

        let organization = try fixture.service.usage(organizationId: "org_a", keyId: nil, from: today, to: today)
        #expect(organization.first?.valid == 3 && organization.first?.invalid == 3)
        #expect(organization.first?.capabilities == ["booking.read": 4, "booking.cancel": 1])
        #expect(organization.first?.refusals == byKey.first?.refusals)

        // Counted once more the next flush, added to what is stored.
        #expect(try verify(other, "booking.read") == .valid)
        try fixture.service.flushUsage()
        let again = try fixture.service.usage(organizationId: "org_a", keyId: nil, from: today, to: today)
        #expect(again.first?.capabilities == ["booking.read": 5, "booking.cancel": 1])

        // A deleted key takes its breakdown with it.
        try fixture.service.deleteKey(id: key.key.record.id, organizationId: "org_a", actor: nil)
        let after = try fixture.service.usage(organizationId: "org_a", keyId: nil, from: today, to: today)
        #expect(after.first?.refusals == [:] && after.first?.capabilities == ["booking.read": 2])
    }

    /// A capability the catalog does not define is refused, and counted
    /// under no capability: a gateway's typo, a NUL, 20,000 bytes or a
    /// new name a request made up stay out of the day's breakdown. Kept,
    /// each new name was one more row a day, without bound, and on
    /// PostgreSQL a NUL failed every flush that carried it.
    @Test(arguments: Backend.available) func aCapabilityTheCatalogLacksIsCountedUnderNone(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let asked = ["booking.reed", "booking.read\u{0}x", String(repeating: "c", count: 20_000), "booking.cancel"]
        for capability in asked {
            let result = try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: capability))
            #expect(result.outcome == .insufficientCapability)
        }
        try fixture.service.flushUsage()
        let today = fixture.clock.now()
        let day = try fixture.service.usage(organizationId: "org_a", keyId: key.key.record.id, from: today, to: today).first
        #expect(day?.invalid == 4 && day?.refusals == ["insufficient_capability": 4])
        #expect(day?.capabilities == ["booking.cancel": 1])
    }
}
