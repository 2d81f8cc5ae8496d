import Foundation
import Testing
@testable import KeyStore

@Suite("Validation: every bad field gets its code")
struct ValidationTests {
    func refusal(_ change: (inout NewKey) -> Void) throws -> KeyStoreError? {
        let store = try StoreFixture()
        var request = store.newKey()
        change(&request)
        do {
            _ = try store.storage.create(request)
            return nil
        } catch {
            #expect(try store.storage.keys(organizationId: "org_a", filter: .all, cursor: nil, limit: nil).keys.isEmpty)
            return error
        }
    }

    @Test(arguments: [
        ("", "empty"), ("   \n", "blank"), (String(repeating: "x", count: 101), "101 characters"),
        ("Zapier\u{0}", "NUL"), ("line\nbreak", "newline"), ("evil\u{202E}gpj.exe", "right-to-left override"),
        ("zero\u{200B}width", "zero-width space"), ("bell\u{7}", "control"),
    ])
    func badNamesAreRefused(name: String, _: String) throws {
        let error = try refusal { $0.name = name }
        #expect(error?.code == .invalidName)
        #expect(error?.field == "name")
    }

    @Test(arguments: [
        "Zapier", String(repeating: "x", count: 100), "Rezerwacje – Łódź", "Buchungs-Widget 🚀",
        "👩‍💻 team key", "مفتاح الحجز", "SELECT * FROM api_key; --",
    ])
    func reasonableNamesAreAccepted(name: String) throws {
        #expect(try refusal { $0.name = name } == nil)
    }

    @Test func capabilitiesMustBeKnownUniqueAndPresent() throws {
        #expect(try refusal { $0.capabilities = [] }?.code == .invalidCapabilities)
        #expect(try refusal { $0.capabilities = ["booking.read", "booking.read"] }?.code == .invalidCapabilities)
        let unknown = try refusal { $0.capabilities = ["booking.read", "booking.delete"] }
        #expect(unknown?.code == .unknownCapability)
        #expect(unknown?.parameters["capability"] == "booking.delete")
        #expect(unknown?.field == "capabilities")
        let flood = try refusal { $0.capabilities = (0..<10_000).map { "cap\($0)" } }
        #expect(flood?.code == .unknownCapability)
    }

    @Test(arguments: [0, -1, 1001, Int.max, Int.min])
    func rateLimitsOutside1To1000AreRefused(rateLimit: Int) throws {
        let error = try refusal { $0.rateLimit = rateLimit }
        #expect(error?.code == .invalidRateLimit)
        #expect(error?.field == "rateLimit")
    }

    @Test(arguments: [
        ("https://shop.example/", "path"), ("https://shop.example/widget", "path"),
        ("https://user:pass@shop.example", "credentials"), ("shop.example", "format"),
        ("https://", "host"), ("https://shop..example", "host"), ("https://shop.example:0", "port"),
        ("https://shop.example:99999", "port"), ("https://shop.example?x=1", "path"),
        ("1https://shop.example", "scheme"), ("https://bücher.example", "host"),
        ("https://[::1", "host"), ("https://shop.example:+443", "port"), ("https://shop.example:-1", "port"),
        ("https://shop.example:", "port"), ("https://[\u{FF46}\u{FF46}::1]", "host"), ("\u{212A}s://shop.example", "scheme"),
    ])
    func originsMustBeSchemeHostAndPort(origin: String, reason: String) throws {
        let error = try refusal { $0.allowedOrigins = [origin] }
        #expect(error?.code == .invalidOrigin)
        #expect(error?.parameters["reason"] == reason)
    }

    @Test func originsAreLimitedTo50AndMayNotRepeat() throws {
        #expect(try refusal { $0.allowedOrigins = (0..<50).map { "https://s\($0).example" } } == nil)
        #expect(try refusal { $0.allowedOrigins = (0..<51).map { "https://s\($0).example" } }?.code == .tooManyOrigins)
        let repeated = try refusal { $0.allowedOrigins = ["https://a.example", "HTTPS://A.example:443"] }
        #expect(repeated?.parameters["reason"] == "duplicate")
    }

    @Test func ipv6AndCustomSchemesAreOrigins() throws {
        #expect(try refusal { $0.allowedOrigins = ["http://[::1]:8080", "capacitor://localhost"] } == nil)
    }

    /// An IP address is kept as a browser's `Origin` header writes it,
    /// whatever spelling was typed: expected values from the WHATWG URL
    /// standard's host parser and serializer (its web-platform tests,
    /// `urltestdata.json`, have most of them).
    @Test(arguments: [
        ("http://[0:0:0:0:0:0:0:1]:8080", "http://[::1]:8080"), ("https://[2001:DB8::1]:443", "https://[2001:db8::1]"),
        ("http://[1:0::]", "http://[1::]"), ("http://[::127.0.0.1]", "http://[::7f00:1]"),
        ("http://[0:0:0:0:0:0:13.1.68.3]", "http://[::d01:4403]"), ("http://[::ffff:1.2.3.4]", "http://[::ffff:102:304]"),
        ("http://[1:0:0:2::3:0]", "http://[1::2:0:0:3:0]"), ("http://[1:2:3:4:5:6:7:0]", "http://[1:2:3:4:5:6:7:0]"),
        ("http://[0001:0:0:0:0:0:0:0]", "http://[1::]"), ("http://[::]", "http://[::]"),
        ("http://127.1", "http://127.0.0.1"), ("http://0x7f.1:3000", "http://127.0.0.1:3000"),
        ("http://0177.0.0.1", "http://127.0.0.1"), ("http://2130706433", "http://127.0.0.1"),
        ("http://0x.0x.0", "http://0.0.0.0"), ("http://192.168.0.1", "http://192.168.0.1"),
        ("http://1.0x100", "http://1.0.1.0"), ("http://1.2.3.x", "http://1.2.3.x"), ("http://0xg", "http://0xg"),
    ])
    func ipAddressesAreKeptAsBrowsersSendThem(typed: String, kept: String) throws {
        #expect(try WebOrigin.normalize(typed) == kept)
        #expect(try WebOrigin.normalize(kept) == kept)
    }

    /// What a browser refuses as a host is refused, not kept as an origin
    /// no request could ever come from.
    @Test(arguments: [
        "http://[:::]", "http://[1:2]", "http://[::1%eth0]", "http://[1.2.3.4]", "http://[::1.2.3]",
        "http://[::01.2.3.4]", "http://[::256.0.0.1]", "http://[1:2:3:4:5:6:7:8:9]", "http://[12345::]",
        "http://[::1::]", "http://[1:2:3:4:5:6:7::1.2.3.4]", "http://[::1:]", "http://[]",
        "http://192.168.0.257", "http://1.2.3.4.5", "http://09.1", "http://0xffffffffff", "http://foo.09",
        "http://4294967296", "http://1.0x1000000",
    ])
    func hostsNoBrowserTakesAreRefused(origin: String) throws {
        let error = try refusal { $0.allowedOrigins = [origin] }
        #expect(error?.code == .invalidOrigin)
        #expect(error?.parameters["reason"] == "host")
    }

    @Test func expiryMustBeInTheFuture() throws {
        let store = try StoreFixture()
        var request = store.newKey()
        request.expiresAt = store.clock.now()
        #expect(throws: KeyStoreError(.invalidExpiry, field: "expiresAt", ["reason": "past"])) {
            try store.storage.create(request)
        }
    }

    @Test func kindEnvironmentOrganizationAndActorAreChecked() throws {
        #expect(try refusal { $0.kind = "reseller" }?.code == .unknownKind)
        #expect(try refusal { $0.environment = "prod" }?.code == .unknownEnvironment)
        #expect(try refusal { $0.organizationId = "" }?.code == .invalidOrganizationId)
        #expect(try refusal { $0.organizationId = "org with space" }?.code == .invalidOrganizationId)
        #expect(try refusal { $0.actor = "" }?.code == .invalidActor)
    }

    @Test func echoedInputIsCutShort() throws {
        let error = try refusal { $0.kind = String(repeating: "k", count: 10_000_000) }
        #expect((error?.parameters["kind"]?.count ?? .max) <= 65)
    }

    @Test func gracePeriodsAndPageSizesAreBounded() throws {
        let store = try StoreFixture()
        let key = try store.create().key
        #expect(throws: KeyStoreError(.invalidGracePeriod, field: "gracePeriodSeconds", ["max": "2592000"])) {
            try store.storage.rotate(id: key.id, organizationId: "org_a", gracePeriodSeconds: -1, actor: nil)
        }
        #expect(throws: KeyStoreError(.invalidLimit, field: "limit", ["max": "200"])) {
            try store.storage.keys(organizationId: "org_a", filter: .all, cursor: nil, limit: 201)
        }
        #expect(throws: KeyStoreError(.invalidCursor, field: "cursor")) {
            try store.storage.keys(organizationId: "org_a", filter: .all, cursor: "not-a-cursor", limit: nil)
        }
    }
}
