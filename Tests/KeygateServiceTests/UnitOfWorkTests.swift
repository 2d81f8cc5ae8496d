import Foundation
import KeyStore
import KeyStorePostgres
import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

/// Commands sent together commit together, each succeeding or failing on
/// its own, through a transaction passed down explicitly.
@Suite("Units of work")
struct UnitOfWorkTests {
    struct Abandoned: Error {}

    @Test(arguments: Backend.withPooler) func commandsSeeTheWritesBeforeThemAndFailOnTheirOwn(_ backend: Backend) throws {
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

    @Test(arguments: Backend.withPooler) func nothingOfAUnitIsVisibleToOthersBeforeItCommits(_ backend: Backend) throws {
        let folder = try ScratchFolder.make("keygate-unit")
        let path = folder.appending(path: "k.sqlite").path
        let fixture = try backend == .sqlite
            ? ServiceFixture(database: try KeyDatabase.open(path: path)) : ServiceFixture(backend: backend)
        let outside = try backend == .sqlite
            ? ServiceFixture(database: try KeyDatabase.open(path: path)) : ServiceFixture(backend: backend, sharing: fixture)
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

/// On PostgreSQL a command's writes whose answers nobody reads (the key's
/// row, its secret, its audit entry, its event) go to the server with the
/// command's next statement that waits, or with the end of its savepoint.
/// A failure among them is still the failure of that command alone.
@Suite("Units of work on PostgreSQL", .enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
struct PostgresUnitOfWorkTests {
    /// A key named "refused" is refused by the server itself, when its row
    /// is inserted, as a constraint or a trigger of an operator's would.
    func refusingKeysNamedRefused(_ fixture: ServiceFixture) throws {
        try PostgresKeyStorage.execute("""
            CREATE FUNCTION refuse_named() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                IF NEW.name = 'refused' THEN RAISE EXCEPTION 'refused by the test'; END IF;
                RETURN NEW;
            END;
            $$;
            CREATE TRIGGER refuse_named BEFORE INSERT ON api_key FOR EACH ROW EXECUTE FUNCTION refuse_named();
            """, url: try #require(fixture.postgresURL))
    }

    func create(_ name: String, _ service: KeygateService) throws {
        _ = try service.createKey(CreateKeyRequest(organizationId: "org_a", name: name, kind: "owner_integration",
                                                   capabilities: ["booking.read"]))
    }

    @Test func aWriteTheServerRefusesFailsItsOwnCommandAndNoOther() throws {
        let fixture = try ServiceFixture(backend: .postgres)
        try fixture.move(to: "pro")
        try refusingKeysNamedRefused(fixture)
        let outcomes = try #require(try fixture.service.unitOfWork { unit in
            [
                // First: the statements after its row, prepared on the way
                // and never run, are prepared again for the next command.
                Result { try unit.run { service in try create("refused", service) } },
                Result { try unit.run { service in try create("one", service) } },
                // Fails on its own before its writes were sent: they never
                // are, so the next command does not meet their failure.
                Result { try unit.run { service in
                    try create("refused", service)
                    throw UnitOfWorkTests.Abandoned()
                } },
                Result { try unit.run { service in try create("two", service) } },
            ]
        })
        #expect(outcomes.map { (try? $0.get()) != nil } == [false, true, false, true])
        #expect(outcomes[0].failureCode == .storageFailure)
        #expect(throws: UnitOfWorkTests.Abandoned.self) { try outcomes[2].get() }
        let keys = try fixture.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys
        #expect(keys.map(\.record.name) == ["two", "one"])
        // Nothing else of the refused commands stayed: no audit entry, no event.
        let audited = try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 100).entries
        #expect(Set(audited.compactMap(\.keyId)) == Set(keys.map(\.record.id)))
        let events = try fixture.service.events(organizationId: "org_a", cursor: nil, limit: 100).events
        #expect(Set(events.compactMap(\.keyId)) == Set(keys.map(\.record.id)))
    }

    @Test func aConnectionThatCarriedARefusedWriteServesTheNextCommand() throws {
        let fixture = try ServiceFixture(backend: .postgres)
        try fixture.move(to: "pro")
        try refusingKeysNamedRefused(fixture)
        for _ in 0..<3 {
            #expect(throws: ServiceError.self) { try create("refused", fixture.service) }
            try create("kept", fixture.service)
        }
        let keys = try fixture.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys
        #expect(keys.map(\.record.name) == ["kept", "kept", "kept"])
    }
}

extension Result {
    var failureCode: ServiceError.Code? {
        if case .failure(let error as ServiceError) = self { return error.code }
        return nil
    }
}
