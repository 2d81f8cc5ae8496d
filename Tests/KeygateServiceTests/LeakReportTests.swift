import Foundation
import KeyStore
@testable import KeygateService
import KeygateTestSupport
import Testing

@Suite("Keys reported leaked")
struct LeakReportTests {
    @Test(arguments: Backend.available) func trueAndFalsePositivesAreToldApartAndLiveKeysRevoked(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let live = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let revoked = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        _ = try fixture.service.revokeKey(id: revoked.key.record.id, organizationId: "org_a", actor: nil)
        let unknown = KeyFormat(prefix: "kg", environments: ["live", "test"]).generate(environment: "live").unredacted
        let findings = try fixture.service.reportLeaked([
            LeakedKeyReport(key: live.secret.unredacted, location: "https://github.com/acme/app/blob/main/.env#L3"),
            LeakedKeyReport(key: revoked.secret.unredacted),
            LeakedKeyReport(key: unknown),
            LeakedKeyReport(key: "kg_live_not_even_a_key"),
        ], action: .revoke, actor: nil)
        #expect(findings.map(\.isKey) == [true, true, false, false])
        #expect(findings.map(\.outcome) == [.revoked, .alreadyInactive, .notAKey, .notAKey])
        #expect(findings[0].hint == live.key.record.hint)
        #expect(!findings.map(\.hint).contains { $0.contains(live.secret.unredacted) || $0.contains(unknown) })
        #expect(try fixture.status(live) == .revoked)
        let entry = try #require(try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 1).entries.first)
        #expect(entry.action == .keyRevoked && entry.actor == "leak_report")
        #expect(entry.details["reason"] == .string("reported leaked at https://github.com/acme/app/blob/main/.env#L3"))
    }

    @Test(arguments: Backend.available) func flaggingRecordsTheReportAndLeavesTheKeyWorking(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        try fixture.move(to: "pro")
        let live = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let findings = try fixture.service.reportLeaked([LeakedKeyReport(key: live.secret.unredacted, location: "pastebin\u{0}/x")],
                                                        action: .flag, actor: "github_scanning")
        #expect(findings.map(\.outcome) == [.flagged])
        #expect(try fixture.status(live) == .active)
        let entry = try #require(try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 1).entries.first)
        #expect(entry.action == .keyLeakReported && entry.actor == "github_scanning")
        #expect(entry.details["location"] == .string("pastebin/x"))
    }

    /// Whatever place a reporter sends is kept, cut to fit: a long one in
    /// letters of several bytes each (CJK, emoji) neither fails the report
    /// nor leaves the key working, whether it is revoked or flagged.
    @Test(arguments: [LeakAction.revoke, .flag]) func aLongPlaceInAnyScriptIsCutNotRefused(_ action: LeakAction) throws {
        let fixture = try ServiceFixture()
        try fixture.move(to: "pro")
        let live = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let place = "https://例え.example/" + String(repeating: "鍵🔑", count: 400)
        let findings = try fixture.service.reportLeaked([LeakedKeyReport(key: live.secret.unredacted, location: place)],
                                                        action: action, actor: nil)
        #expect(findings.map(\.outcome) == [action == .revoke ? .revoked : .flagged])
        #expect(try fixture.status(live) == (action == .revoke ? .revoked : .active))
        let entry = try #require(try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 1).entries.first)
        guard case .string(let kept)? = entry.details[action == .revoke ? "reason" : "location"] else {
            Issue.record("no place in \(entry.details)")
            return
        }
        #expect(kept.utf8.count <= 400)
        #expect(kept.hasSuffix("鍵🔑") || kept.hasSuffix("鍵"), "cut between characters: \(kept.suffix(4))")
        #expect(place.hasPrefix(kept.replacingOccurrences(of: "reported leaked at ", with: "")))
    }
}
