import Foundation
@testable import KeyStore
import KeygateTestSupport
import Testing

/// The store's side of an import, one key at a time and in a batch: both
/// paths decide every key the same way.
@Suite("Importing keys into the store")
struct ImportStoreTests {
    static func key(_ organization: String, _ number: Int, kind: String = "owner_integration") -> ImportedKey {
        ImportedKey(organizationId: organization, name: "k\(number)", kind: kind, capabilities: ["booking.read"],
                    secret: .key(StoreFixture.rules.format.generate(environment: "live")), rateLimit: 60)
    }

    /// Outcomes as codes: `imported`, `present`, or the error's code.
    static func codes(_ results: [Result<ImportedKeyResult, KeyStoreError>]) -> [String] {
        results.map { result in
            switch result {
            case .success(let imported): imported.imported ? "imported" : "present"
            case .failure(let error): error.code.rawValue
            }
        }
    }

    @Test(arguments: Backend.withPooler) func oneByOneAndInABatchDecideAlike(_ backend: Backend) throws {
        let limits = ["org_a": LiveKeyLimit(maximum: 3, kinds: ["owner_integration"])]
        let existing = Self.key("org_a", 0)
        let elsewhere = Self.key("org_b", 1)
        let again = Self.key("org_a", 2)
        var bad = Self.key("org_a", 3)
        bad.secret = .sha256("xyz")
        let batch = [existing, elsewhere, again, again, bad, Self.key("org_a", 4), Self.key("org_a", 5),
                     ImportedKey(organizationId: "org_a", name: "b", kind: "owner_integration", capabilities: ["booking.read"],
                                 secret: elsewhere.secret, rateLimit: 60)]
        let expected = ["present", "imported", "imported", "present", "invalid_digest", "imported", "key_limit_reached",
                        "key_conflict"]

        let oneByOne = try StoreFixture(backend)
        _ = try oneByOne.storage.importKey(existing, limit: nil)
        let single = batch.map { key in
            Result { () throws(KeyStoreError) in try oneByOne.storage.importKey(key, limit: limits[key.organizationId]) }
        }
        #expect(Self.codes(single) == expected)

        let together = try StoreFixture(backend)
        _ = try together.storage.importKey(existing, limit: nil)
        let batched = try together.storage.importKeys(batch, limits: limits)
        #expect(Self.codes(batched) == expected)
        #expect(try together.storage.liveKeyCount(organizationId: "org_a", kinds: ["owner_integration"]) == 3)
        // Each new key verifies, and each import is in the audit log and the outbox once.
        for key in [again, elsewhere] {
            guard case .key(let raw) = key.secret, case .found(let match) = try together.storage.find(secret: raw.unredacted)
            else { Issue.record("not found"); continue }
            #expect(match.key.organizationId == key.organizationId)
        }
        let events = try together.storage.events(organizationId: "org_a", after: nil, limit: 50).events
        #expect(events.filter { $0.type == .keyImported }.count == 3)
        let audit = try together.storage.auditLog(organizationId: "org_a", cursor: nil, limit: 50).entries
        #expect(audit.filter { $0.action == .keyImported }.count == 3)
    }
}
