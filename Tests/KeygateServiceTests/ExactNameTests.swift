import Foundation
import KeyStore
import KeygateService
import KeygateTestSupport
import PlanCatalog
import Testing

/// A catalog's names match only as they are spelled. Swift's `String`
/// holds canonically equivalent texts equal, so U+212A KELVIN SIGN passed
/// for a catalog's `K`: `"pro\u{212A}it"` moved an organization to the
/// plan `proKit`, a key was created with the kind `owner\u{212A}ey` and
/// kept and returned in that spelling, which neither database nor any
/// client's `==` takes for the catalog's name.
@Suite("Catalog names match as spelled")
struct ExactNameTests {
    static let kelvin = "\u{212A}"

    /// The default catalog with a `K` in a plan, a kind and a capability.
    static func fixture(_ backend: Backend) throws -> ServiceFixture {
        try ServiceFixture(editing: { text in
            text.replacingOccurrences(of: "\"pro\"", with: "\"proKit\"")
                .replacingOccurrences(of: "\"owner_integration\"", with: "\"ownerKey\"")
                .replacingOccurrences(of: "\"booking.read\"", with: "\"bookingKeys.read\"")
        }, backend: backend)
    }

    static func bytes(_ texts: some Sequence<String>) -> [[UInt8]] {
        texts.map { Array($0.utf8) }.sorted { $0.lexicographicallyPrecedes($1) }
    }

    @Test(arguments: Backend.available) func aPlanKindOrCapabilityWithAnEquivalentLetterIsUnknown(_ backend: Backend) throws {
        let fixture = try Self.fixture(backend)
        #expect(throws: ServiceError.self) { try fixture.move(to: PlanID("pro\(Self.kelvin)it")) }
        #expect(try fixture.service.subscription(organizationId: "org_a").plan.rawValue == "free")
        #expect(throws: ServiceError.self) {
            try fixture.service.preview(organizationId: "org_a", plan: PlanID("pro\(Self.kelvin)it"))
        }

        try fixture.move(to: "proKit")
        let kind = #expect(throws: ServiceError.self) {
            try fixture.create(kind: "owner\(Self.kelvin)ey", capabilities: ["bookingKeys.read"])
        }
        #expect(kind?.code == .unknownKind)
        let capability = #expect(throws: ServiceError.self) {
            try fixture.create(kind: "ownerKey", capabilities: ["booking\(Self.kelvin)eys.read"])
        }
        #expect(capability?.code == .unknownCapability)
        // The store checks on its own, for a library that calls it directly.
        let imported = try fixture.storage.importKeys([ImportedKey(
            organizationId: "org_a", name: "moved", kind: "owner\(Self.kelvin)ey", capabilities: ["bookingKeys.read"],
            secret: .key(KeyRules(catalog: fixture.catalog).format.generate(environment: "live")), rateLimit: 60)],
            limits: [:])
        guard case .failure(let refusal)? = imported.first else { Issue.record("imported: \(imported)"); return }
        #expect(refusal.code == .unknownKind)

        let key = try fixture.create(kind: "ownerKey", capabilities: ["bookingKeys.read"])
        let stored = try fixture.service.key(id: key.key.record.id, organizationId: "org_a").record
        #expect(Self.bytes([stored.kind]) == Self.bytes(["ownerKey"]))
        #expect(Self.bytes(stored.capabilities) == Self.bytes(["bookingKeys.read"]))
    }

    /// A verification asking for a capability in another spelling is
    /// refused, and counted under no capability, as a name the catalog
    /// lacks is: the day's usage lists only the catalog's spellings.
    @Test(arguments: Backend.available) func aVerificationAskingForAnEquivalentSpellingIsRefused(_ backend: Backend) throws {
        let fixture = try Self.fixture(backend)
        try fixture.move(to: "proKit")
        let key = try fixture.create(kind: "ownerKey", capabilities: ["bookingKeys.read"])
        func verify(_ capability: String) throws -> VerifyOutcome {
            try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: capability)).outcome
        }
        #expect(try verify("bookingKeys.read") == .valid)
        #expect(try verify("booking\(Self.kelvin)eys.read") == .insufficientCapability)
        try fixture.service.flushUsage()
        let today = fixture.clock.now()
        let usage = try fixture.service.usage(organizationId: "org_a", keyId: key.key.record.id, from: today, to: today)
        #expect(usage.first?.refusals == ["insufficient_capability": 1])
        #expect(Self.bytes(usage.first?.capabilities.keys ?? [:].keys) == Self.bytes(["bookingKeys.read"]))
    }
}
