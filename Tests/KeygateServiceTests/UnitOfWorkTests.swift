import Foundation
import KeyStore
import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

/// Commands sent together commit together, each succeeding or failing on
/// its own, through a transaction passed down explicitly.
@Suite("Units of work")
struct UnitOfWorkTests {
    struct Abandoned: Error {}

    @Test(arguments: Backend.available) func commandsSeeTheWritesBeforeThemAndFailOnTheirOwn(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let outcomes = try #require(try fixture.service.unitOfWork { unit in
            [
                Result { try unit.run { service in
                    _ = try service.setPlan(SetPlanRequest(organizationId: "org_a", plan: "pro", eventId: "evt_u1",
                                                           occurredAt: fixture.clock.now()))
                } },
                // Sees the plan the command before it set.
                Result { try unit.run { service in
                    _ = try service.createKey(CreateKeyRequest(organizationId: "org_a", name: "one", kind: "owner_integration",
                                                               capabilities: ["booking.read"]))
                } },
                Result { try unit.run { service in
                    _ = try service.createKey(CreateKeyRequest(organizationId: "org_a", name: "bad", kind: "nope",
                                                               capabilities: ["booking.read"]))
                } },
                // Writes, then fails: its own writes are taken back, nobody else's.
                Result { try unit.run { service in
                    _ = try service.createKey(CreateKeyRequest(organizationId: "org_a", name: "abandoned",
                                                               kind: "owner_integration", capabilities: ["booking.read"]))
                    throw Abandoned()
                } },
                Result { try unit.run { service in
                    _ = try service.createKey(CreateKeyRequest(organizationId: "org_a", name: "two", kind: "owner_integration",
                                                               capabilities: ["booking.read"]))
                } },
            ]
        })
        #expect(outcomes.map { (try? $0.get()) != nil } == [true, true, false, false, true])
        #expect(outcomes[2].failureCode == .unknownKind)
        let names = try fixture.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys.map(\.record.name)
        #expect(names == ["two", "one"])
        #expect(try fixture.service.subscription(organizationId: "org_a").plan == "pro")
    }

    @Test(arguments: Backend.available) func nothingOfAUnitIsVisibleToOthersBeforeItCommits(_ backend: Backend) throws {
        let folder = try ScratchFolder.make("keygate-unit")
        let path = folder.appending(path: "k.sqlite").path
        let fixture = try backend == .sqlite
            ? ServiceFixture(database: try KeyDatabase.open(path: path)) : ServiceFixture(backend: .postgres)
        let outside = try backend == .sqlite
            ? ServiceFixture(database: try KeyDatabase.open(path: path)) : ServiceFixture(backend: .postgres, sharing: fixture)
        try fixture.move(to: "pro")
        var seenInside: Int?
        var seenOutside: Int?
        _ = try fixture.service.unitOfWork { unit in
            _ = try? unit.run { service in
                _ = try service.createKey(CreateKeyRequest(organizationId: "org_a", name: "k", kind: "owner_integration",
                                                           capabilities: ["booking.read"]))
                seenInside = try service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys.count
            }
            seenOutside = try? outside.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys.count
        }
        #expect(seenInside == 1 && seenOutside == 0)
        #expect(try outside.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys.count == 1)
    }
}

extension Result {
    var failureCode: ServiceError.Code? {
        if case .failure(let error as ServiceError) = self { return error.code }
        return nil
    }
}
