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

        // Billing's event, under its own id and time: sent again, it is a replay.
        try keygate.setPlan(SetPlanRequest(organizationId: "org_1", plan: "pro", eventId: "evt_1",
                                           occurredAt: try Date("2026-11-22T10:00:00Z", strategy: .iso8601)))
        let created = try keygate.createKey(CreateKeyRequest(
            organizationId: "org_1", name: "Zapier", kind: "owner_integration", capabilities: ["booking.read"]))
        let answer = try keygate.verify(VerifyRequest(authorization: "Bearer \(created.secret.unredacted)", capability: "booking.read"))
        #expect(answer.outcome == .valid && answer.outcome.httpStatus == 200)
        try keygate.flushUsage()
        #expect(keygate.health().status == .pass)

        // The README's session sends the same event to the same file
        // (`keygate serve` opens keygate.sqlite where it runs): a replay,
        // whichever of the two a newcomer runs first, and however often.
        let again = try keygate.setPlan(SetPlanRequest(organizationId: "org_1", plan: "pro", eventId: "evt_1",
                                                       occurredAt: try Date("2026-11-22T10:00:00Z", strategy: .iso8601)))
        #expect(!again.applied && again.reason == .duplicateEvent)
    }
}
