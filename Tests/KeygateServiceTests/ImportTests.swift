import Foundation
import KeyStore
@testable import KeygateService
import KeygateTestSupport
import Testing

/// Keys issued before Keygate, moved in: the booking engine's `qv_pk_…`
/// keys, which it kept as SHA-256 digests (Plans/examples/booking-engine.xml
/// declares the format).
@Suite("Importing existing keys")
struct ImportTests {
    /// A legacy key and its SHA-256 in hex and base64 (worked out with sha256sum and base64).
    static let legacyKey = "qv_pk_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p_"
    static let legacyHex = "e12f3f65cc37520bbbcdbd2b526d9d943b9fa3d8536adb5a4c329b7d41378614"
    static let legacyBase64 = "4S8/Zcw3Ugu7zb0rUm2dlDufo9hTattaTDKbfUE3hhQ="

    static func legacy(_ number: Int) -> String {
        "qv_pk_" + String(repeating: "k", count: 24) + String(format: "%08d", number)
    }

    func request(_ secret: ImportedKey.Secret, organization: String = "org_a", name: String = "imported",
                 kind: String = "widget", capabilities: [String] = ["read"], rateLimit: Int? = nil,
                 createdAt: Date? = nil, lastUsedAt: Date? = nil) -> ImportKeyRequest {
        ImportKeyRequest(organizationId: organization, name: name, kind: kind, capabilities: capabilities, secret: secret,
                         rateLimit: rateLimit, createdAt: createdAt, lastUsedAt: lastUsedAt, actor: "migration")
    }

    /// An integration that tries its key before the import reaches it is
    /// told `not_found`; once the key is imported it is found at once, in
    /// this process and in another that remembered the same miss.
    @Test(arguments: Backend.available) func aKeyTriedBeforeItsImportIsFoundOnceImported(_ backend: Backend) throws {
        let processes = try ServiceFixture.processes(2, catalog: "examples/booking-engine.xml", backend: backend)
        try processes[0].move(to: "professional")
        let key = Self.legacy(7)
        for process in processes {
            #expect(try process.service.verify(VerifyRequest(key: key, capability: "read")).outcome == .notFound)
        }
        guard case .imported = try processes[0].service.importKeys([request(.key(RawKey(key)))])[0] else {
            Issue.record("the key was not imported")
            return
        }
        for process in processes {
            #expect(try process.service.verify(VerifyRequest(key: key, capability: "read")).outcome == .valid)
        }
    }

    @Test(arguments: Backend.available) func legacyKeysImportedByDigestOrKeyVerifyAlongsideNewOnes(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/booking-engine.xml", backend: backend)
        try fixture.move(to: "professional")
        let created = utc(2024, 3, 1), used = utc(2026, 11, 20)
        let results = try fixture.service.importKeys([
            request(.sha256(Self.legacyHex), name: "Front desk", createdAt: created, lastUsedAt: used),
            request(.key(RawKey(Self.legacy(1))), name: "Channel sync", kind: "server", capabilities: ["read", "write"]),
            request(.sha256(Self.legacyBase64), name: "Same key, other digest form"),
        ])
        guard case .imported(let byDigest) = results[0], case .imported(let byKey) = results[1],
            case .alreadyPresent(let again) = results[2]
        else { Issue.record("unexpected results: \(results)"); return }
        #expect(again.record.id == byDigest.record.id && again.record.name == "Front desk")
        #expect(byDigest.record.createdAt == created && byDigest.record.lastUsedAt == used)
        #expect(byDigest.record.environment == "live" && byDigest.status == .active)
        // The key itself is unknown when only its digest came: the hint shows the format.
        #expect(byDigest.record.hint == "qv_pk_…")
        #expect(byKey.record.hint == "qv_pk_…0001")

        let native = try fixture.create(kind: "widget", capabilities: ["read"])
        for key in [Self.legacyKey, Self.legacy(1), native.secret.unredacted] {
            #expect(try fixture.service.verify(VerifyRequest(key: key, capability: "read")).outcome == .valid, "\(key.prefix(8))")
        }
        #expect(try fixture.service.verify(VerifyRequest(key: Self.legacy(2), capability: "read")).outcome == .notFound)
        #expect(try fixture.service.verify(VerifyRequest(key: "qv_pk_short", capability: "read")).outcome == .malformed)

        // The audit log says who imported what, and never the key.
        let entries = try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 10).entries
        let imports = entries.filter { $0.action == .keyImported }
        #expect(imports.count == 2 && imports.allSatisfy { $0.actor == "migration" })
        #expect(Set(imports.compactMap { $0.details["source"] }) == [.string("sha256"), .string("key")])
        #expect(!"\(entries)".contains(Self.legacy(1)))
    }

    @Test(arguments: Backend.available) func anotherOrganizationsKeyIsRefusedAndNothingChanges(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/booking-engine.xml", backend: backend)
        _ = try fixture.service.importKeys([request(.key(RawKey(Self.legacyKey)))])
        let results = try fixture.service.importKeys([
            request(.sha256(Self.legacyHex), organization: "org_b"),
            request(.key(RawKey(Self.legacyKey)), organization: "org_b"),
        ])
        for result in results {
            guard case .refused(let error) = result else { Issue.record("imported into a second organization"); continue }
            #expect(error.code == .keyConflict)
        }
        #expect(try fixture.service.keys(organizationId: "org_b", status: nil, cursor: nil, limit: nil).keys.isEmpty)
        #expect(try fixture.service.verify(VerifyRequest(key: Self.legacyKey, capability: "read")).organizationId == "org_a")
    }

    /// Basic: at most 2 live widget keys, `read` only, 120 requests a minute at most.
    @Test(arguments: Backend.available) func eachKeyIsCheckedAsACreationAndARefusalAffectsNoOther(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/booking-engine.xml", backend: backend)
        let now = fixture.clock.now()
        let results = try fixture.service.importKeys([
            request(.key(RawKey(Self.legacy(1)))),
            request(.key(RawKey(Self.legacy(2))), kind: "server"),
            request(.key(RawKey(Self.legacy(3))), capabilities: ["write"]),
            request(.key(RawKey(Self.legacy(4))), rateLimit: 500),
            request(.sha256("not a digest")),
            request(.key(RawKey("sk_live_" + String(repeating: "x", count: 24)))),
            request(.key(RawKey(Self.legacy(5))), createdAt: now.addingTimeInterval(3600)),
            request(.key(RawKey(Self.legacy(6))), createdAt: utc(2025, 1, 1), lastUsedAt: utc(2024, 1, 1)),
            request(.key(RawKey(Self.legacy(7))), name: " "),
            request(.key(RawKey(Self.legacy(8)))),
            request(.key(RawKey(Self.legacy(9)))),
        ])
        let codes = results.map { result -> String in
            switch result {
            case .imported: "imported"
            case .alreadyPresent: "present"
            case .refused(let error): error.code.rawValue
            }
        }
        #expect(codes == [
            "imported", "kind_not_allowed", "capability_not_allowed_for_kind", "rate_limit_above_plan", "invalid_digest",
            "unrecognized_key", "invalid_timestamp", "invalid_timestamp", "invalid_name", "imported", "key_limit_reached",
        ])
        if case .refused(let error) = results[1] { #expect(error.parameters["requiredPlan"] == "professional") }
        let listed = try fixture.service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys
        #expect(listed.count == 2)
        // What was refused can be imported once the plan allows it.
        try fixture.move(to: "professional")
        guard case .imported = try fixture.service.importKeys([request(.key(RawKey(Self.legacy(2))), kind: "server")])[0]
        else { Issue.record("not imported after the upgrade"); return }
    }

    @Test(arguments: Backend.available) func anImportInsideAUnitOfWorkCommitsWithIt(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/booking-engine.xml", backend: backend)
        let results = try #require(try fixture.service.unitOfWork { unit in
            try? unit.run { service in try service.importKeys([request(.key(RawKey(Self.legacy(1))))]) }
        })
        guard case .imported(let key)? = results?.first else { Issue.record("not imported: \(String(describing: results))"); return }
        #expect(try fixture.service.key(id: key.record.id, organizationId: "org_a").record.name == "imported")
    }

    @Test func aBatchIsBounded() throws {
        let fixture = try ServiceFixture(catalog: "examples/booking-engine.xml")
        let requests = (0...KeygateService.maximumImportBatch).map { request(.key(RawKey(Self.legacy($0)))) }
        #expect(throws: ServiceError(.invalidLimit, field: "keys", ["max": "1000", "reason": "batch"])) {
            try fixture.service.importKeys(requests)
        }
    }
}
