import Foundation
import KeyStore
import KeygateJSON
import KeygateTestSupport
import Locking
import Testing

/// `keys.create` under an idempotency key, as each store keeps it: one
/// key per idempotency key and organization, whatever is sent again, by
/// whichever process, in whatever order.
@Suite("Key creations by idempotency key")
struct KeyCreationIdempotencyTests {
    private func newKey(_ fixture: StoreFixture, _ idempotencyKey: String?, organization: String = "org_a",
                        capabilities: [String] = ["booking.read", "services.read"]) -> NewKey {
        var key = fixture.newKey(organization: organization, capabilities: capabilities)
        key.idempotencyKey = idempotencyKey
        return key
    }

    private func keyCount(_ storage: any KeygateStorage, _ organization: String = "org_a") throws -> Int {
        try storage.keys(organizationId: organization, filter: .all, cursor: nil, limit: 200).keys.count
    }

    @Test(arguments: Backend.withPooler) func theSameCreationSentAgainMakesNoKeyAndNamesTheFirst(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let first = try storage.create(newKey(fixture, "form-41"), limit: nil)
        // The capabilities are a set: a retry that lists them in another order is the same creation.
        for retry in [newKey(fixture, "form-41"), newKey(fixture, "form-41", capabilities: ["services.read", "booking.read"])] {
            let error = #expect(throws: KeyStoreError.self) { try storage.create(retry, limit: nil) }
            #expect(error == KeyStoreError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": first.key.id]))
        }
        #expect(try keyCount(storage) == 1)
        #expect(try storage.auditLog(organizationId: "org_a", cursor: nil, limit: 50).entries.map(\.action) == [.keyCreated])
        #expect(try storage.events(organizationId: "org_a", after: nil, limit: 50).events.count == 1, "one key.created event")

        // Idempotency keys are each organization's own; creations without one are never compared.
        let other = try storage.create(newKey(fixture, "form-41", organization: "org_b"), limit: nil)
        #expect(other.key.id != first.key.id)
        _ = try storage.create(newKey(fixture, nil), limit: nil)
        _ = try storage.create(newKey(fixture, nil), limit: nil)
        #expect(try keyCount(storage) == 3)
        #expect(try fixture.rows(in: "key_creation") == 2)
    }

    @Test(arguments: Backend.withPooler) func aKeyReusedForAnotherCreationNamesWhatDiffersAndCreatesNothing(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        var sent = newKey(fixture, "form-7")
        sent.allowedOrigins = ["https://app.example.com"]
        sent.expiresAt = fixture.clock.now().addingTimeInterval(86_400)
        _ = try storage.create(sent, limit: nil)
        let changes: [(String, (inout NewKey) -> Void)] = [
            ("name", { $0.name = "Zapier (2)" }),
            ("kind", { $0.kind = "booking_partner" }),
            ("capabilities", { $0.capabilities = ["booking.read"] }),
            ("environment", { $0.environment = "test" }),
            ("rateLimit", { $0.rateLimit = 61 }),
            ("allowedOrigins", { $0.allowedOrigins = [] }),
            ("expiresAt", { $0.expiresAt = $0.expiresAt?.addingTimeInterval(1) }),
            ("expiresAt", { $0.expiresAt = nil }),
        ]
        for (differs, change) in changes {
            var retry = sent
            change(&retry)
            let error = #expect(throws: KeyStoreError.self) { try storage.create(retry, limit: nil) }
            #expect(error == KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs]))
        }
        // An origin as typed and as a browser sends it are the same origin.
        var spelled = sent
        spelled.allowedOrigins = ["HTTPS://App.Example.com:443"]
        spelled.actor = "someone_else"
        let error = #expect(throws: KeyStoreError.self) { try storage.create(spelled, limit: nil) }
        #expect(error?.code == .keyAlreadyCreated, "the actor is who asked, not what was asked")
        #expect(try keyCount(storage) == 1)
    }

    /// A retry whose first call took the last slot the plan allows is told
    /// of that key, not of the limit, and a deleted key's creation still
    /// happened.
    @Test(arguments: Backend.withPooler) func theRetryIsAnsweredBeforeTheLimitAndAfterADeletion(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let limit = LiveKeyLimit(maximum: 1, kinds: ["owner_integration"])
        let first = try storage.create(newKey(fixture, "form-1"), limit: limit)
        let atLimit = #expect(throws: KeyStoreError.self) { try storage.create(newKey(fixture, "form-1"), limit: limit) }
        #expect(atLimit?.code == .keyAlreadyCreated)
        let another = #expect(throws: KeyStoreError.self) { try storage.create(newKey(fixture, "form-2"), limit: limit) }
        #expect(another?.code == .keyLimitReached)

        try storage.delete(id: first.key.id, organizationId: "org_a", actor: nil)
        let afterDeletion = #expect(throws: KeyStoreError.self) { try storage.create(newKey(fixture, "form-1"), limit: limit) }
        #expect(afterDeletion?.parameters == ["keyId": first.key.id])
        #expect(try keyCount(storage) == 0)
    }

    @Test(arguments: Backend.available) func anIdempotencyKeyOfNoBytesTooManyOrAControlIsRefused(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        for idempotencyKey in ["", String(repeating: "k", count: 201), "form\u{0}1", "form\n1", "ż" + String(repeating: "k", count: 199)] {
            let error = #expect(throws: KeyStoreError.self) { try fixture.storage.create(newKey(fixture, idempotencyKey), limit: nil) }
            #expect(error == KeyStoreError(.invalidIdempotencyKey, field: "idempotencyKey", ["max": "200"]))
        }
        _ = try fixture.storage.create(newKey(fixture, String(repeating: "k", count: 200)), limit: nil)
        _ = try fixture.storage.create(newKey(fixture, "żółw 🐢"), limit: nil)
        #expect(try keyCount(fixture.storage) == 2)
    }

    /// Inside a unit of work, a creation sees those of its earlier commands.
    @Test(arguments: Backend.available) func aUnitOfWorksSecondCreationUnderAKeyIsRefusedAndTheFirstStands(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let key = newKey(fixture, "form-9")
        let outcomes = try #require(try fixture.storage.transaction { transaction in
            (0..<2).map { _ in
                try? transaction.step { bound in
                    Result<String, KeyStoreError> { () throws(KeyStoreError) in try bound.create(key, limit: nil).key.id }
                }
            }
        })
        #expect(outcomes.count == 2)
        let first = try #require(try outcomes.first??.get())
        #expect(throws: KeyStoreError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": first])) { try outcomes.last??.get() }
        #expect(try keyCount(fixture.storage) == 1)
    }

    /// A creation under a key that another process's open transaction has
    /// just created under: it waits for that one to commit and is told of
    /// its key, rather than failing on the second insert of the key (or,
    /// had the first rolled back, it would create).
    @Test(arguments: Backend.available) func aCreationBehindAnOpenOneUnderTheSameKeyIsToldOfIt(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let second = try StoreFixture(backend, database: fixture.sqlite, postgresURL: fixture.postgresURL)
        let key = newKey(fixture, "form-open")
        let behind = Locked<Result<String, KeyStoreError>?>(nil)
        let waiting = Thread {
            let outcome = Result<String, KeyStoreError> { () throws(KeyStoreError) in
                try second.storage.create(key, limit: nil).key.id
            }
            behind.withLock { $0 = outcome }
        }
        let first = try #require(try fixture.storage.transaction { transaction in
            let id = try? transaction.step { bound in try bound.create(key, limit: nil).key.id }
            waiting.start()
            // Long enough for the other creation to reach its read of the
            // key; the outcome is the same if it has not.
            Thread.sleep(forTimeInterval: 0.3)
            return id
        } ?? nil)
        // Bounded: a creation that waits for ever fails the test after 10 s.
        for _ in 0..<1_000 where behind.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        let outcome = try #require(behind.withLock { $0 }, "the second creation was still waiting after 10 s")
        #expect(throws: KeyStoreError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": first])) { try outcome.get() }
        #expect(try keyCount(fixture.storage) == 1)
    }

    /// Processes creating under one idempotency key at once, each on its
    /// own connection: one key, every other call told of it.
    @Test(arguments: Backend.available) func concurrentCreationsUnderOneKeyMakeOneKey(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let second = try StoreFixture(backend, database: fixture.sqlite, postgresURL: fixture.postgresURL)
        let stores = [fixture.storage, second.storage]
        let outcomes = Locked<[Result<String, KeyStoreError>]>([])
        let key = newKey(fixture, "form-race")
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let outcome = Result<String, KeyStoreError> { () throws(KeyStoreError) in
                try stores[index % 2].create(key, limit: nil).key.id
            }
            outcomes.withLock { $0.append(outcome) }
        }
        let all = outcomes.withLock { $0 }
        let created = all.compactMap { try? $0.get() }
        #expect(created.count == 1, "\(all)")
        for outcome in all {
            if case .failure(let error) = outcome {
                #expect(error == KeyStoreError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": created.first ?? "?"]))
            }
        }
        #expect(try keyCount(fixture.storage) == 1)
    }
}
