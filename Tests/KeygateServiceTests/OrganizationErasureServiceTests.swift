import Foundation
import KeyStore
@testable import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

/// What a process that erased an organization answers next: none of its
/// keys verify, even one it held in memory; its plan is the default one and
/// its request count starts again; what it had counted and not yet written
/// comes back with the next flush, as docs/OPERATIONS.md says.
@Suite("Erasing an organization, as the service answers after it")
struct OrganizationErasureServiceTests {
    @Test(arguments: Backend.available) func nothingOfTheOrganizationIsAnsweredFromMemoryAfterIt(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        _ = try fixture.create(name: "second", kind: "owner_integration", capabilities: ["booking.read"])
        let request = VerifyRequest(key: key.secret.unredacted, capability: "booking.read")
        for _ in 0..<3 { #expect(try fixture.service.verify(request).outcome == .valid) }
        try fixture.service.flushUsage()
        func requests() throws(ServiceError) -> Int? {
            let report = try fixture.service.quotas(organizationId: "org_a")
            return report.quotas.first { $0.meter.rawValue == "api.requests" }?.used
        }
        #expect(try requests() == 3)
        // Held in memory, with one more counted and not yet written.
        #expect(try fixture.service.verify(request).outcome == .valid)

        #expect(try fixture.service.eraseOrganization("org_a", actor: "support") == OrganizationErasure(keys: 2))
        #expect(try fixture.service.verify(request).outcome == .notFound)
        let subscription = try fixture.service.subscription(organizationId: "org_a")
        #expect(subscription.plan == fixture.catalog.defaultPlan.id, "one billing never named")
        #expect(try fixture.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys.isEmpty)
        // The stored three are gone; the one counted before the erasure
        // and not yet written is not, and is written with the next flush;
        // the next erasure takes it.
        #expect(try requests() == 1)
        try fixture.service.flushUsage()
        #expect(try requests() == 1)
        #expect(try fixture.service.eraseOrganization("org_a", actor: "support") == OrganizationErasure(keys: 0))
        #expect(try requests() == 0)
    }
}
