import Foundation
import KeyStore
import KeygateTestSupport
import Locking
import Testing

/// `keys.rotate` under an idempotency key, as each store keeps it: one
/// rotation per idempotency key and organization, whatever is sent again,
/// by whichever process. A second rotation would replace the secret the
/// first answered, which its caller may have installed by then.
@Suite("Key rotations by idempotency key")
struct KeyRotationIdempotencyTests {
    private func rotate(_ storage: any KeygateStorage, _ id: String, grace: Int = 3_600, organization: String = "org_a",
                        _ idempotencyKey: String?) throws(KeyStoreError) -> IssuedKey {
        try storage.rotate(id: id, organizationId: organization, gracePeriodSeconds: grace, actor: nil,
                           idempotencyKey: idempotencyKey)
    }

    private func rotations(_ storage: any KeygateStorage, _ organization: String = "org_a") throws -> Int {
        try storage.auditLog(organizationId: organization, cursor: nil, limit: 200).entries.filter { $0.action == .keyRotated }
            .count
    }

    @Test(arguments: Backend.withPooler) func theSameRotationSentAgainRotatesNothingAndNamesTheKey(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let issued = try fixture.create()
        let rotated = try rotate(storage, issued.key.id, "rotate-41")
        #expect(throws: KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": issued.key.id])) {
            try rotate(storage, issued.key.id, "rotate-41")
        }
        // The first answer's secret is the key's, and the one it replaced keeps its grace.
        #expect(try fixture.found(rotated.secret)?.id == issued.key.id)
        #expect(try fixture.found(issued.secret)?.id == issued.key.id)
        #expect(try storage.key(id: issued.key.id, organizationId: "org_a").hint == rotated.key.hint)
        #expect(try storage.previousSecrets(keyIds: [issued.key.id])[issued.key.id]?.count == 1)
        #expect(try rotations(storage) == 1)
        #expect(try storage.events(organizationId: "org_a", after: nil, limit: 50).events.filter { $0.type == .keyRotated }
            .count == 1)

        // Idempotency keys are each organization's own; rotations without one are never compared.
        let other = try fixture.create(fixture.newKey(organization: "org_b"))
        _ = try rotate(storage, other.key.id, organization: "org_b", "rotate-41")
        _ = try rotate(storage, issued.key.id, grace: 0, nil)
        _ = try rotate(storage, issued.key.id, grace: 0, nil)
        #expect(try rotations(storage) == 3)
        #expect(try fixture.rows(in: "key_rotation") == 2)
    }

    @Test(arguments: Backend.withPooler) func aKeyReusedForAnotherRotationNamesWhatDiffersAndRotatesNothing(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let first = try fixture.create()
        let second = try fixture.create()
        let rotated = try rotate(storage, first.key.id, grace: 600, "rotate-7")
        for (id, grace, differs) in [(second.key.id, 600, "keyId"), (first.key.id, 601, "gracePeriodSeconds"),
                                     (first.key.id, 0, "gracePeriodSeconds")] {
            #expect(throws: KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs])) {
                try rotate(storage, id, grace: grace, "rotate-7")
            }
        }
        #expect(try fixture.found(rotated.secret)?.id == first.key.id)
        #expect(try fixture.found(second.secret)?.id == second.key.id)
        #expect(try rotations(storage) == 1)
    }

    /// A retry is told of the rotation its first call made whatever became
    /// of the key since; a rotation refused remembers nothing, so the same
    /// call later, once it can, rotates.
    @Test(arguments: Backend.withPooler) func theRetryIsAnsweredBeforeTheKeyIsLookedAtAndARefusalIsNotRemembered(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let revoked = try fixture.create()
        _ = try rotate(storage, revoked.key.id, "rotate-1")
        _ = try storage.revoke(id: revoked.key.id, organizationId: "org_a", actor: nil, reason: nil)
        try storage.delete(id: revoked.key.id, organizationId: "org_a", actor: nil)
        #expect(throws: KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": revoked.key.id])) {
            try rotate(storage, revoked.key.id, "rotate-1")
        }

        let full = try fixture.create()
        for number in 1...KeyRules.maximumPreviousSecrets {
            _ = try rotate(storage, full.key.id, grace: 600 + number, nil)
        }
        #expect(throws: KeyStoreError(.tooManyPreviousSecrets, field: "gracePeriodSeconds", ["max": "10"])) {
            try rotate(storage, full.key.id, grace: 60, "rotate-2")
        }
        #expect(throws: KeyStoreError(.notFound, field: "keyId")) { try rotate(storage, "key_unknown", "rotate-2") }
        #expect(try fixture.rows(in: "key_rotation") == 1)
        // The earliest grace (601 s) runs out: room for one more, under the key refused before.
        fixture.clock.advance(by: 601)
        let later = try rotate(storage, full.key.id, grace: 60, "rotate-2")
        #expect(try fixture.found(later.secret)?.id == full.key.id)
        #expect(try fixture.rows(in: "key_rotation") == 2)
    }

    @Test(arguments: Backend.available) func anIdempotencyKeyOfNoBytesTooManyOrAControlIsRefused(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let id = try fixture.create().key.id
        for idempotencyKey in ["", String(repeating: "k", count: 201), "rotate\u{0}1", "rotate\n1"] {
            #expect(throws: KeyStoreError(.invalidIdempotencyKey, field: "idempotencyKey", ["max": "200"])) {
                try rotate(fixture.storage, id, idempotencyKey)
            }
            #expect(throws: KeyStoreError(.invalidIdempotencyKey, field: "idempotencyKey", ["max": "200"])) {
                try fixture.storage.earlierRotation(id: id, organizationId: "org_a", gracePeriodSeconds: 0,
                                                    idempotencyKey: idempotencyKey)
            }
        }
        #expect(try rotations(fixture.storage) == 0)
        _ = try rotate(fixture.storage, id, grace: 0, String(repeating: "k", count: 200))
        #expect(try rotations(fixture.storage) == 1)
    }

    /// What a rotation refused by the plan asks: writes nothing, and
    /// answers as a rotation would.
    @Test(arguments: Backend.available) func theEarlierRotationIsReadWithoutWriting(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let id = try fixture.create().key.id
        #expect(try storage.earlierRotation(id: id, organizationId: "org_a", gracePeriodSeconds: 60,
                                            idempotencyKey: "rotate-3") == nil)
        _ = try rotate(storage, id, grace: 60, "rotate-3")
        #expect(try storage.earlierRotation(id: id, organizationId: "org_a", gracePeriodSeconds: 60, idempotencyKey: "rotate-3")
            == KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": id]))
        #expect(try storage.earlierRotation(id: id, organizationId: "org_a", gracePeriodSeconds: 0, idempotencyKey: "rotate-3")
            == KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "gracePeriodSeconds"]))
        #expect(try storage.earlierRotation(id: id, organizationId: "org_b", gracePeriodSeconds: 60,
                                            idempotencyKey: "rotate-3") == nil)
        #expect(throws: KeyStoreError(.invalidGracePeriod, field: "gracePeriodSeconds",
                                      ["max": "\(KeyRules.maximumGracePeriodSeconds)"])) {
            try storage.earlierRotation(id: id, organizationId: "org_a", gracePeriodSeconds: -1, idempotencyKey: "rotate-3")
        }
        #expect(try rotations(storage) == 1)
    }

    /// Inside a unit of work, a rotation sees those of its earlier commands.
    @Test(arguments: Backend.available) func aUnitOfWorksSecondRotationUnderAKeyIsRefusedAndTheFirstStands(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let id = try fixture.create().key.id
        let outcomes = try #require(try fixture.storage.transaction { transaction in
            (0..<2).map { _ in
                try? transaction.step { bound in
                    Result<String, KeyStoreError> { () throws(KeyStoreError) in
                        try bound.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil,
                                         idempotencyKey: "rotate-9").secret.unredacted
                    }
                }
            }
        })
        let secret = try #require(try outcomes.first??.get())
        #expect(throws: KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": id])) { try outcomes.last??.get() }
        guard case .found(let match) = try fixture.storage.find(secret: secret) else {
            Issue.record("the first rotation's secret does not open the key")
            return
        }
        #expect(match.key.id == id)
        #expect(try rotations(fixture.storage) == 1)
    }

    /// A rotation under a key that another process's open transaction has
    /// just rotated under: it waits for that one to commit and is told of
    /// it, rather than failing on the second claim of the key (or, had the
    /// first rolled back, it would rotate).
    @Test(arguments: Backend.available) func aRotationBehindAnOpenOneUnderTheSameKeyIsToldOfIt(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let second = try StoreFixture(backend, database: fixture.sqlite, postgresURL: fixture.postgresURL)
        let id = try fixture.create().key.id
        let behind = Locked<Result<String, KeyStoreError>?>(nil)
        let waiting = Thread {
            let outcome = Result<String, KeyStoreError> { () throws(KeyStoreError) in
                try rotate(second.storage, id, "rotate-open").secret.unredacted
            }
            behind.withLock { $0 = outcome }
        }
        let first = try #require(try fixture.storage.transaction { transaction in
            let secret = try? transaction.step { bound in
                try bound.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 3_600, actor: nil,
                                 idempotencyKey: "rotate-open").secret
            }
            waiting.start()
            // Long enough for the other rotation to reach its claim of the
            // key; the outcome is the same if it has not.
            Thread.sleep(forTimeInterval: 0.3)
            return secret
        } ?? nil)
        // Bounded: a rotation that waits for ever fails the test after 10 s.
        for _ in 0..<1_000 where behind.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        let outcome = try #require(behind.withLock { $0 }, "the second rotation was still waiting after 10 s")
        #expect(throws: KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": id])) { try outcome.get() }
        #expect(try fixture.found(first)?.id == id)
        #expect(try rotations(fixture.storage) == 1)
    }

    /// Processes rotating under one idempotency key at once, each on its
    /// own connection, some naming another key by mistake: one rotation,
    /// every other call told of it.
    @Test(arguments: Backend.available) func concurrentRotationsUnderOneKeyRotateOnce(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let second = try StoreFixture(backend, database: fixture.sqlite, postgresURL: fixture.postgresURL)
        let stores = [fixture.storage, second.storage]
        let keys = [try fixture.create().key.id, try fixture.create().key.id]
        let outcomes = Locked<[(key: String, outcome: Result<String, KeyStoreError>)]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { index in
            let key = keys[index % 4 == 3 ? 1 : 0]
            let outcome = Result<String, KeyStoreError> { () throws(KeyStoreError) in
                try stores[index % 2].rotate(id: key, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil,
                                             idempotencyKey: "rotate-race").key.id
            }
            outcomes.withLock { $0.append((key, outcome)) }
        }
        let all = outcomes.withLock { $0 }
        let rotated = all.compactMap { try? $0.outcome.get() }
        #expect(rotated.count == 1, "\(all)")
        for (key, outcome) in all {
            guard case .failure(let error) = outcome else { continue }
            #expect(error == (key == rotated.first
                ? KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": key])
                : KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "keyId"])))
        }
        #expect(try rotations(fixture.storage) == 1)
    }
}
