import Foundation
import KeygateTestSupport
import KeyStore
import KeygateService
import PlanCatalog
import Testing

/// The README's "As a Swift library" example, as written there.
@Suite("The library example")
struct LibraryExampleTests {
    @Test func theReadmeExampleCreatesAndVerifiesAKey() throws {
        let folder = try ScratchFolder.make("keygate-library")
        let path = folder.appending(path: "keygate.sqlite").path

        let catalog = try PlanCatalog.load(contentsOf: PlanCatalog.shippedCatalog)
        let storage = SQLiteKeyStorage(database: try KeyDatabase.open(path: path), rules: KeyRules(catalog: catalog))
        #expect(storage.shortcomings.isEmpty, "processes on the file share rate limits, and it is writable")
        let keygate = KeygateService(catalog: catalog, storage: storage)

        try keygate.setPlan(SetPlanRequest(organizationId: "org_1", plan: "pro", eventId: "evt_1", occurredAt: .now))
        let created = try keygate.createKey(CreateKeyRequest(
            organizationId: "org_1", name: "Zapier", kind: "owner_integration", capabilities: ["booking.read"]))
        let answer = try keygate.verify(VerifyRequest(authorization: "Bearer \(created.secret.unredacted)", capability: "booking.read"))
        #expect(answer.outcome == .valid && answer.outcome.httpStatus == 200)
        try keygate.flushUsage()
        #expect(keygate.health().status == .pass)
    }
}
