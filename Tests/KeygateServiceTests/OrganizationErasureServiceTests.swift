import Foundation
import KeyStore
@testable import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

/// What processes answer after an organization's erasure: none of its
/// keys verify, even one held in memory; its plan is the default one, and
/// its request count starts again, in the erasing process and in every
/// other, with what they had counted and not yet written dropped.
@Suite("Erasing an organization, as the service answers after it")
struct OrganizationErasureServiceTests {
    private func requests(_ fixture: ServiceFixture) throws(ServiceError) -> Int? {
        let report = try fixture.service.quotas(organizationId: "org_a")
        return report.quotas.first { $0.meter.rawValue == "api.requests" }?.used
    }

    /// Two processes on one store: `admin` moved `org_a` to Pro and made a
    /// key, which `gateway` verified five times and has not written.
    private func fiveVerificationsHeldByAnotherProcess(_ backend: Backend) throws
        -> (admin: ServiceFixture, gateway: ServiceFixture, key: CreatedKey)
    {
        let processes = try ServiceFixture.processes(2, backend: backend)
        let (admin, gateway) = (processes[0], processes[1])
        try admin.move(to: "pro")
        let key = try admin.create(kind: "owner_integration", capabilities: ["booking.read"])
        for _ in 0..<5 {
            #expect(try gateway.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")).outcome
                    == .valid)
        }
        return (admin, gateway, key)
    }

    @Test(arguments: Backend.available) func nothingOfTheOrganizationIsAnsweredFromMemoryAfterIt(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        _ = try fixture.create(name: "second", kind: "owner_integration", capabilities: ["booking.read"])
        let request = VerifyRequest(key: key.secret.unredacted, capability: "booking.read")
        for _ in 0..<3 { #expect(try fixture.service.verify(request).outcome == .valid) }
        try fixture.service.flushUsage()
        #expect(try requests(fixture) == 3)
        // Held in memory, with one more counted and not yet written.
        #expect(try fixture.service.verify(request).outcome == .valid)

        #expect(try fixture.service.eraseOrganization("org_a", actor: "support") == OrganizationErasure(keys: 2))
        #expect(try fixture.service.verify(request).outcome == .notFound)
        let subscription = try fixture.service.subscription(organizationId: "org_a")
        #expect(subscription.plan == fixture.catalog.defaultPlan.id, "one billing never named")
        #expect(try fixture.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys.isEmpty)
        // The stored three are gone, and the one counted before the
        // erasure and not yet written is dropped, not written later.
        #expect(try requests(fixture) == 0)
        try fixture.service.flushUsage()
        #expect(try requests(fixture) == 0)
    }

    /// Another process that counted verifications of the organization's
    /// keys before the erasure, and flushes after it, writes none of them;
    /// what it counts of a key created after the erasure it writes.
    @Test(arguments: Backend.available) func anotherProcessWritesNothingItCountedBeforeTheErasure(
        _ backend: Backend
    ) throws {
        let (admin, gateway, key) = try fiveVerificationsHeldByAnotherProcess(backend)

        _ = try admin.service.eraseOrganization("org_a", actor: "support")
        try gateway.service.flushUsage()
        #expect(try requests(admin) == 0)
        #expect(try requests(gateway) == 0)
        // Nor the erased key's own counts and last use (its last IP address),
        // which no answer shows: on SQLite they would go to the usage file.
        #expect(try admin.usageRows(ofKey: key.key.record.id) == 0)

        try admin.move(to: "pro")
        let later = try admin.create(kind: "owner_integration", capabilities: ["booking.read"])
        for _ in 0..<2 {
            #expect(try gateway.service.verify(VerifyRequest(key: later.secret.unredacted, capability: "booking.read")).outcome
                    == .valid)
        }
        try gateway.service.flushUsage()
        #expect(try requests(admin) == 2)
    }

    /// A process so far behind that the change log no longer reaches back
    /// to where it stopped forgets all it held, without learning which
    /// organizations were erased meanwhile. What it had counted of one
    /// whose erasure is still among the changes the log keeps is dropped
    /// all the same, not written.
    @Test(arguments: Backend.available) func aProcessPastTheChangeLogsReachWritesNothingOfAnErasureTheLogStillHolds(
        _ backend: Backend
    ) throws {
        let (admin, gateway, _) = try fiveVerificationsHeldByAnotherProcess(backend)

        try admin.outrunChangeLog()
        _ = try admin.service.eraseOrganization("org_a", actor: "support")
        try gateway.service.flushUsage()
        #expect(try requests(admin) == 0)
        #expect(try requests(gateway) == 0)
    }
}
