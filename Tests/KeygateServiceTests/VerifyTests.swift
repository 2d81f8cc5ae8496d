import Foundation
import KeyStore
@testable import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

@Suite("keys.verify")
struct VerifyTests {
    func proKey(_ fixture: ServiceFixture, capabilities: [String] = ["booking.read"], rateLimit: Int? = nil,
                origins: [String] = []) throws -> CreatedKey {
        try fixture.move(to: "pro")
        return try fixture.service.createKey(CreateKeyRequest(
            organizationId: "org_a", name: "gateway test", kind: "owner_integration", capabilities: capabilities,
            rateLimit: rateLimit, allowedOrigins: origins))
    }

    func verify(_ fixture: ServiceFixture, _ key: String, capability: String? = "booking.read", origin: String? = nil,
                cost: Int = 1) throws -> VerifyResult {
        try fixture.service.verify(VerifyRequest(key: key, capability: capability, origin: origin, cost: cost))
    }

    @Test(arguments: Backend.withPooler) func aValidKeyCarriesItsOrganizationCapabilitiesRateLimitAndQuota(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture, capabilities: ["booking.read", "booking.create"])
        let result = try verify(fixture, key.secret.unredacted)
        #expect(result.outcome == .valid && result.outcome.httpStatus == 200)
        #expect(result.organizationId == "org_a" && result.keyId == key.key.record.id && result.kind == "owner_integration")
        #expect(result.capabilities == ["booking.read", "booking.create"])
        #expect(result.rateLimit?.limit == 60 && result.rateLimit?.remaining == 59)
        #expect(result.quota?.meter == "api.requests" && result.quota?.remaining == 999_999)
    }

    @Test(arguments: Backend.withPooler) func eachDenialHasItsCodeAndStatusInTheDocumentedOrder(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture, origins: ["https://shop.example"]).secret.unredacted
        let outcomes: [(String, String?, String?, VerifyOutcome)] = [
            ("not a key", "booking.read", "https://shop.example", .malformed),
            ("kg_live_" + String(repeating: "0", count: 38), "booking.read", nil, .malformed),
            (KeyFormat(prefix: "kg", environments: ["live"]).generate(environment: "live").unredacted, nil, nil, .notFound),
            (key, "webhook.manage", "https://shop.example", .insufficientCapability),
            (key, "booking.read", "https://evil.example", .originNotAllowed),
            (key, "booking.read", nil, .originNotAllowed),
            (key, "booking.read", "HTTPS://Shop.Example:443", .valid),
        ]
        for (secret, capability, origin, expected) in outcomes {
            #expect(try verify(fixture, secret, capability: capability, origin: origin).outcome == expected)
        }
        #expect(VerifyOutcome.allCases.map(\.httpStatus) == [200, 401, 401, 401, 401, 403, 403, 403, 429, 429])
    }

    /// An allowed origin typed with an IP address in another spelling than
    /// a browser's lets in the browser's requests from that address.
    @Test(arguments: Backend.withPooler) func anAddressTypedInAnySpellingLetsItsBrowserIn(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture, origins: ["http://[0:0:0:0:0:0:0:1]:8080", "http://127.1:3000"])
        #expect(key.key.record.allowedOrigins == ["http://[::1]:8080", "http://127.0.0.1:3000"])
        let secret = key.secret.unredacted
        #expect(try verify(fixture, secret, origin: "http://[::1]:8080").outcome == .valid)
        #expect(try verify(fixture, secret, origin: "http://127.0.0.1:3000").outcome == .valid)
        #expect(try verify(fixture, secret, origin: "http://[::2]:8080").outcome == .originNotAllowed)
    }

    /// A key's origins changed by `keys.update` hold from the next
    /// verification: the new origin is let in, the one taken away refused,
    /// and the audit log has what changed; an empty list lets any origin in.
    @Test(arguments: Backend.withPooler) func originsChangedByAnUpdateHoldAtOnce(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture, origins: ["https://shop.example"])
        let secret = key.secret.unredacted
        #expect(try verify(fixture, secret, origin: "https://shop.example").outcome == .valid)
        let updated = try fixture.service.updateKey(id: key.key.record.id, organizationId: "org_a",
                                                    changes: KeyChanges(allowedOrigins: ["https://admin.shop.example"]), actor: "ops")
        #expect(updated.record.allowedOrigins == ["https://admin.shop.example"])
        #expect(try verify(fixture, secret, origin: "https://shop.example").outcome == .originNotAllowed)
        #expect(try verify(fixture, secret, origin: "https://admin.shop.example").outcome == .valid)
        let entry = try #require(try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 200).entries
            .first { $0.action == .keyUpdated })
        #expect(entry.details["allowedOrigins"] == ["from": ["https://shop.example"], "to": ["https://admin.shop.example"]])
        _ = try fixture.service.updateKey(id: key.key.record.id, organizationId: "org_a",
                                          changes: KeyChanges(allowedOrigins: []), actor: nil)
        #expect(try verify(fixture, secret, origin: "https://elsewhere.example").outcome == .valid)
    }

    @Test(arguments: Backend.withPooler) func revokedExpiredAndSuspendedKeysAreRefusedBeforeAnythingElse(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let revoked = try proKey(fixture)
        _ = try fixture.service.revokeKey(id: revoked.key.record.id, organizationId: "org_a", actor: nil)
        // Revocation comes before capability: the wrong capability still says revoked.
        #expect(try verify(fixture, revoked.secret.unredacted, capability: "webhook.manage").outcome == .revoked)

        let expiring = try fixture.service.createKey(CreateKeyRequest(
            organizationId: "org_a", name: "short", kind: "owner_integration", capabilities: ["booking.read"],
            expiresAt: fixture.clock.now().addingTimeInterval(60)))
        fixture.clock.advance(by: 60)
        #expect(try verify(fixture, expiring.secret.unredacted).outcome == .expired)

        let suspended = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        try fixture.move(to: "starter")
        #expect(try verify(fixture, suspended.secret.unredacted, capability: "webhook.manage").outcome == .planSuspended)
        try fixture.move(to: "pro")
        #expect(try verify(fixture, suspended.secret.unredacted).outcome == .valid)
    }

    /// Where several checks would fail at once, the first in the
    /// documented order answers: revoked before expired, capability before
    /// origin, origin before the rate limit, the rate limit before the quota.
    @Test(arguments: Backend.available) func whenSeveralChecksFailTheFirstInTheDocumentedOrderAnswers(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let both = try fixture.service.createKey(CreateKeyRequest(
            organizationId: "org_a", name: "short", kind: "owner_integration", capabilities: ["booking.read"],
            expiresAt: fixture.clock.now().addingTimeInterval(60)))
        _ = try fixture.service.revokeKey(id: both.key.record.id, organizationId: "org_a", actor: nil)
        fixture.clock.advance(by: 61)
        #expect(try verify(fixture, both.secret.unredacted).outcome == .revoked)

        let guarded = try proKey(fixture, rateLimit: 1, origins: ["https://shop.example"]).secret.unredacted
        #expect(try verify(fixture, guarded, capability: "webhook.manage", origin: "https://evil.example").outcome
            == .insufficientCapability)
        #expect(try verify(fixture, guarded, origin: "https://shop.example").outcome == .valid)
        #expect(try verify(fixture, guarded, origin: "https://evil.example").outcome == .originNotAllowed)
        #expect(try verify(fixture, guarded, origin: "https://shop.example").outcome == .rateLimited)

        // The booking engine's basic plan: 10,000 requests a day, spent 1,000 at a time a minute apart.
        let engine = try ServiceFixture(catalog: "examples/booking-engine.xml", backend: backend)
        let widget = try engine.create(kind: "widget", capabilities: ["read"], rateLimit: 120).secret.unredacted
        for _ in 0..<10 {
            #expect(try verify(engine, widget, capability: "read", cost: 1_000).outcome == .valid)
            engine.clock.advance(by: 60)
        }
        // The minute is the key's again, the day's quota spent: the quota refuses.
        #expect(try verify(engine, widget, capability: "read", cost: 120).outcome == .quotaExceeded)
        // Both would refuse now (that request took the minute): the rate limit answers.
        #expect(try verify(engine, widget, capability: "read").outcome == .rateLimited)
    }

    @Test(arguments: Backend.withPooler) func aRotatedSecretVerifiesUntilItsGraceDeadlineAndNotAMomentAfter(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture)
        let rotated = try fixture.service.rotateKey(id: key.key.record.id, organizationId: "org_a", gracePeriodSeconds: 30, actor: nil)
        // Each answer says until when the secret sent works: the earlier one until its deadline, the current one
        // as long as its key.
        let deadline = try #require(rotated.previousSecretExpiresAt)
        #expect(try verify(fixture, key.secret.unredacted).secretExpiresAt == deadline)
        #expect(try verify(fixture, rotated.secret.unredacted).secretExpiresAt == nil)
        fixture.clock.advance(by: 29.999)
        let last = try verify(fixture, key.secret.unredacted)
        #expect(last.outcome == .valid && last.secretExpiresAt == deadline)
        fixture.clock.advance(by: 0.001)
        #expect(try verify(fixture, key.secret.unredacted).outcome == .notFound)
        #expect(try verify(fixture, rotated.secret.unredacted).outcome == .valid)
    }

    /// Refused on the way (a capability it lacks, its plan suspended), an
    /// earlier secret still says when it stops; a revoked
    /// key's secrets say nothing of the kind, as none of them works.
    @Test func anEarlierSecretSaysWhenItStopsWhateverTheOutcome() throws {
        let fixture = try ServiceFixture()
        let key = try proKey(fixture)
        let id = key.key.record.id
        let rotated = try fixture.service.rotateKey(id: id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        let deadline = try #require(rotated.previousSecretExpiresAt)
        let refused = try verify(fixture, key.secret.unredacted, capability: "webhook.manage")
        #expect(refused.outcome == .insufficientCapability && refused.secretExpiresAt == deadline)
        try fixture.move(to: "starter")
        let suspended = try verify(fixture, key.secret.unredacted)
        #expect(suspended.outcome == .planSuspended && suspended.secretExpiresAt == deadline)
        try fixture.move(to: "pro")
        _ = try fixture.service.revokeKey(id: id, organizationId: "org_a", actor: nil)
        let revoked = try verify(fixture, key.secret.unredacted)
        #expect(revoked.outcome == .revoked && revoked.secretExpiresAt == nil && revoked.keyId == id)
    }

    @Test(arguments: Backend.withPooler) func capabilitiesLostOnADowngradeAreRefused(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "business")
        let key = try fixture.create(kind: "workspace", capabilities: ["linksRead", "customersRead"])
        try fixture.move(to: "pro")
        #expect(try verify(fixture, key.secret.unredacted, capability: "customersRead").outcome == .insufficientCapability)
        #expect(try verify(fixture, key.secret.unredacted, capability: "linksRead").outcome == .valid)
    }

    @Test(arguments: [
        ("GET", "/api/links/abc", VerifyOutcome.valid),
        ("POST", "/api/links", .valid),
        ("GET", "/api/analytics/timeseries", .insufficientCapability),
        ("POST", "/api/track/sale", .insufficientCapability),
        ("GET", "/api/nothing/here", .insufficientCapability),
        ("GET", "/api/links/../customers", .insufficientCapability),
    ])
    func theRouteTableDecidesTheCapability(method: String, path: String, expected: VerifyOutcome) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml")
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "workspace", capabilities: ["linksRead", "linksWrite"])
        let result = try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, method: method, path: path))
        #expect(result.outcome == expected)
        if path == "/api/nothing/here" { #expect(result.noRoute) }
    }

    /// A flush forgets the counters of keys with nothing pending and their
    /// whole allowance back, and only those: a key still inside its limit
    /// is refused after a flush as before it, and one whose allowance came
    /// back starts afresh.
    @Test func aFlushKeepsTheRateLimitOfAKeyStillInsideItsWindow() throws {
        let fixture = try ServiceFixture()
        let limited = try proKey(fixture, rateLimit: 6).secret.unredacted
        let idle = try proKey(fixture, rateLimit: 6).secret.unredacted
        for _ in 0..<6 { #expect(try verify(fixture, limited).outcome == .valid) }
        #expect(try verify(fixture, idle).outcome == .valid)
        fixture.clock.advance(by: 30)
        try fixture.service.flushUsage()
        // Half a minute on, the first key has three of its six back, the
        // second all of them, its counter forgotten by the flush.
        for expected in (0..<3).reversed() { #expect(try verify(fixture, limited).rateLimit?.remaining == expected) }
        #expect(try verify(fixture, limited).outcome == .rateLimited)
        #expect(try verify(fixture, idle).rateLimit?.remaining == 5)
        try fixture.service.flushUsage()
        #expect(try verify(fixture, limited).outcome == .rateLimited)
        // Every valid verification counted once, across both flushes.
        let quota = try fixture.service.quotas(organizationId: "org_a").quotas[0]
        #expect(quota.used == 11, "\(quota)")
    }

    /// A request costing more than the key's minute (cost 100 on a key of
    /// 60 a minute) takes the whole minute: it passes when the key has its
    /// whole allowance, and the next waits a minute. It once was told to
    /// retry in 40 s, every time, and never passed.
    @Test(arguments: Backend.withPooler) func aRequestCostingMoreThanTheKeysMinuteTakesTheWholeMinute(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture, rateLimit: 60).secret.unredacted
        let heavy = try verify(fixture, key, cost: 100)
        #expect(heavy.outcome == .valid && heavy.rateLimit?.remaining == 0, "\(heavy)")
        let next = try verify(fixture, key)
        #expect(next.outcome == .rateLimited && next.retryAfter == 1, "\(next)")
        fixture.clock.advance(by: 30)
        #expect(try verify(fixture, key, cost: 100).retryAfter == 30)
        fixture.clock.advance(by: 30)
        #expect(try verify(fixture, key, cost: 100).outcome == .valid)
        // Its quota counts what it cost.
        try fixture.service.flushUsage()
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[0].used == 200)
    }

    @Test(arguments: Backend.withPooler) func theRateLimitAllowsItsMinuteAndSaysExactlyWhenToRetry(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture, rateLimit: 6).secret.unredacted
        for expected in (0..<6).reversed() {
            #expect(try verify(fixture, key).rateLimit?.remaining == expected)
        }
        let limited = try verify(fixture, key)
        #expect(limited.outcome == .rateLimited && limited.outcome.httpStatus == 429)
        #expect(limited.retryAfter == 10)
        fixture.clock.advance(by: 9.5)
        #expect(try verify(fixture, key).retryAfter == 1)
        fixture.clock.advance(by: 0.5)
        #expect(try verify(fixture, key).outcome == .valid)
        #expect(try verify(fixture, key).outcome == .rateLimited)
        fixture.clock.advance(by: 60)
        #expect(try verify(fixture, key, cost: 6).outcome == .valid)
        #expect(try verify(fixture, key).retryAfter == 10)
    }

    @Test(arguments: Backend.withPooler) func aRateLimitAboveADowngradedCeilingIsEnforcedAtTheCeiling(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/link-platform.xml", backend: backend)
        try fixture.move(to: "business")
        let key = try fixture.create(kind: "workspace", capabilities: ["linksRead"], rateLimit: 1000)
        try fixture.move(to: "free")
        #expect(try verify(fixture, key.secret.unredacted, capability: "linksRead").rateLimit?.limit == 60)
    }

    @Test(arguments: Backend.withPooler) func theRequestQuotaIsCountedAndThenRefused(_ backend: Backend) throws {
        let fixture = try ServiceFixture(catalog: "examples/booking-engine.xml", backend: backend)
        let key = try fixture.create(kind: "widget", capabilities: ["read"], rateLimit: 120)
        // The basic plan allows 10,000 requests a day; spend most of them in bulk.
        for _ in 0..<(9_990 / 90) {
            fixture.clock.advance(by: 60)
            #expect(try verify(fixture, key.secret.unredacted, capability: "read", cost: 90).outcome == .valid)
        }
        fixture.clock.advance(by: 60)
        #expect(try verify(fixture, key.secret.unredacted, capability: "read", cost: 10).outcome == .valid)
        let over = try verify(fixture, key.secret.unredacted, capability: "read")
        #expect(over.outcome == .quotaExceeded)
        #expect(over.quota?.remaining == 0 && over.quota?.resetsAt == utc(2026, 11, 23))
        try fixture.service.flushUsage()
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[0].used == 10_000)
    }

    @Test(arguments: Backend.withPooler) func usageIsBufferedUntilFlushedAndShownWithTheKey(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture)
        for _ in 0..<3 { _ = try verify(fixture, key.secret.unredacted) }
        _ = try verify(fixture, key.secret.unredacted, capability: "webhook.manage")
        #expect(try fixture.service.key(id: key.key.record.id, organizationId: "org_a").record.usage == KeyUsage())
        try fixture.service.flushUsage()
        let flushed = try fixture.service.key(id: key.key.record.id, organizationId: "org_a").record
        #expect(flushed.usage == KeyUsage(valid: 3, invalid: 1))
        #expect(flushed.lastUsedAt == fixture.clock.now())
        #expect(try fixture.service.quotas(organizationId: "org_a").quotas[0].used == 3)
        try fixture.service.flushUsage()
        #expect(try fixture.service.key(id: key.key.record.id, organizationId: "org_a").record.usage == KeyUsage(valid: 3, invalid: 1))
    }

    @Test(arguments: Backend.withPooler) func aFlushOfMoreKeysThanOneTransactionHoldsWritesEachCountOnce(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let count = KeygateService.flushKeyBatch * 2 + 17
        let perOrganization = 25
        for organization in 0..<(count + perOrganization - 1) / perOrganization {
            try fixture.move("org_\(organization)", to: "pro")
        }
        let keys = try (0..<count).map { index in
            try fixture.create("org_\(index / perOrganization)", kind: "owner_integration", capabilities: ["booking.read"])
        }
        for (index, key) in keys.enumerated() {
            for _ in 0...(index % 3) { _ = try verify(fixture, key.secret.unredacted) }
        }
        try fixture.service.flushUsage()
        try fixture.service.flushUsage()
        let wrong = try keys.enumerated().filter { index, key in
            try fixture.service.key(id: key.key.record.id, organizationId: key.key.record.organizationId).record.usage
                != KeyUsage(valid: index % 3 + 1, invalid: 0)
        }
        #expect(wrong.isEmpty, "\(wrong.count) of \(count) keys with wrong counts")
        var requests = 0
        for organization in 0..<(count + perOrganization - 1) / perOrganization {
            let quotas = try fixture.service.quotas(organizationId: "org_\(organization)").quotas
            requests += quotas.first { $0.meter.rawValue == "api.requests" }?.used ?? 0
        }
        let verified: Int = (0..<count).reduce(0) { $0 + $1 % 3 + 1 }
        #expect(requests == verified)
    }

    @Test(arguments: Backend.withPooler) func aKeyShowsWhereItWasLastUsedFrom(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture, origins: ["https://shop.example"])
        _ = try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read",
                                                     origin: "https://shop.example", ip: "203.0.113.9"))
        try fixture.service.flushUsage()
        let record = try fixture.service.key(id: key.key.record.id, organizationId: "org_a").record
        #expect(record.lastOrigin == "https://shop.example" && record.lastIP == "203.0.113.9")
    }

    /// A gateway forwards whatever a client sends as `Origin` or its
    /// address. What a key shows is that text without its invisible
    /// characters, cut between characters: a NUL no longer hides the rest
    /// (both databases' clients cut text there), a bidi override no longer
    /// turns a dashboard's line around, and 20,000 bytes are not kept.
    @Test(arguments: Backend.available) func whereAKeyWasUsedFromIsKeptCleanedAndCut(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let key = try proKey(fixture)
        let cases: [(origin: String?, ip: String?, shown: String?, shownIP: String?)] = [
            ("https://shop.example\u{0}.evil.example", "203.0.113.9\u{202E}", "https://shop.example.evil.example", "203.0.113.9"),
            (String(repeating: "鍵", count: 20_000), String(repeating: "9", count: 20_000),
             String(repeating: "鍵", count: 100), String(repeating: "9", count: 300)),
            ("\u{200B}\t ", "  ", nil, nil),
            ("  https://shop.example ", "2001:db8::1", "https://shop.example", "2001:db8::1"),
        ]
        for (origin, ip, shown, shownIP) in cases {
            fixture.clock.advance(by: 1)  // Each use the last one.
            let result = try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read",
                                                                  origin: origin, ip: ip))
            #expect(result.outcome == .valid)
            try fixture.service.flushUsage()
            let record = try fixture.service.key(id: key.key.record.id, organizationId: "org_a").record
            #expect(record.lastOrigin == shown)
            #expect(record.lastIP == shownIP)
        }
    }

    @Test func bearerHeadersAreRead() {
        #expect(VerifyRequest.key(fromAuthorization: "Bearer kg_live_abc") == "kg_live_abc")
        #expect(VerifyRequest.key(fromAuthorization: "  bearer   kg_live_abc ") == "kg_live_abc")
        #expect(VerifyRequest.key(fromAuthorization: "Basic dXNlcjpwYXNz") == nil)
        #expect(VerifyRequest.key(fromAuthorization: "Bearer") == nil)
    }
}
