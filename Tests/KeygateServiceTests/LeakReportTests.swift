import Foundation
import KeyStore
import KeygateJSON
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

    /// A Pro key rotated with an hour's grace: its first secret still works.
    func rotatedKey(_ fixture: ServiceFixture) throws -> (first: CreatedKey, rotated: CreatedKey) {
        try fixture.move(to: "pro")
        let first = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let rotated = try fixture.service.rotateKey(id: first.key.record.id, organizationId: "org_a", gracePeriodSeconds: 3600,
                                                    actor: nil)
        return (first, rotated)
    }

    /// A key rotated with a grace period has two secrets working. A report
    /// of the rotated-out one names that one (its hint, and when it stops)
    /// in the answer, the audit log and the event: named as the key's
    /// current secret, it sent the key's holder to rotate, which stops the
    /// current secret and leaves the leaked one working to its deadline.
    @Test(arguments: Backend.available) func aReportOfARotatedOutSecretNamesThatSecret(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let (first, rotated) = try rotatedKey(fixture)
        let deadline = try #require(rotated.previousSecretExpiresAt)
        let leakedHint = first.key.record.hint
        #expect(leakedHint != rotated.key.record.hint)

        let flagged = try fixture.service.reportLeaked([LeakedKeyReport(key: first.secret.unredacted, location: "a gist")],
                                                       action: .flag, actor: nil)
        #expect(flagged.map(\.hint) == [leakedHint] && flagged.map(\.outcome) == [.flagged])
        let entry = try #require(try fixture.service.auditLog(organizationId: "org_a", cursor: nil, limit: 1).entries.first)
        #expect(entry.action == .keyLeakReported && entry.details["hint"] == .string(leakedHint))
        #expect(entry.details["secretExpiresAt"] == .string(RFC3339.string(deadline)))
        var event = try #require(try fixture.service.events(organizationId: "org_a", cursor: nil, limit: 200).events.last)
        #expect(event.type == .keyLeakReported && event.data["hint"] == .string(leakedHint))
        #expect(event.data["secretExpiresAt"] == .string(RFC3339.string(deadline)))

        // The current secret, reported, is named as the key is, with no deadline.
        _ = try fixture.service.reportLeaked([LeakedKeyReport(key: rotated.secret.unredacted)], action: .flag, actor: nil)
        event = try #require(try fixture.service.events(organizationId: "org_a", cursor: nil, limit: 200).events.last)
        #expect(event.data["hint"] == .string(rotated.key.record.hint) && event.data["secretExpiresAt"] == nil)

        // Revoked on the old secret's report, the key stops with all its secrets.
        let revoked = try fixture.service.reportLeaked([LeakedKeyReport(key: first.secret.unredacted)], action: .revoke,
                                                       actor: nil)
        #expect(revoked.map(\.hint) == [leakedHint] && revoked.map(\.outcome) == [.revoked])
        event = try #require(try fixture.service.events(organizationId: "org_a", cursor: nil, limit: 200).events.last)
        #expect(event.type == .keyLeakReported && event.data["hint"] == .string(leakedHint))
        #expect(event.data["action"] == .string("revoked"))
        #expect(try fixture.status(first) == .revoked)
        #expect(try fixture.service.verify(VerifyRequest(key: rotated.secret.unredacted)).outcome == .revoked)
    }

    /// What a flagged earlier secret calls for when the key should go on
    /// working: stopping the earlier secrets stops the leaked one at once,
    /// whatever the plan allows (a suspended key's too: taking access away
    /// is always allowed), and the key comes back with its current secret.
    @Test(arguments: Backend.available) func aLeakedEarlierSecretIsStoppedWithoutRevokingTheKey(_ backend: Backend) throws {
        let fixture = try ServiceFixture(backend: backend)
        let (first, rotated) = try rotatedKey(fixture)
        let id = first.key.record.id
        _ = try fixture.service.reportLeaked([LeakedKeyReport(key: first.secret.unredacted)], action: .flag, actor: nil)
        #expect(try fixture.service.key(id: id, organizationId: "org_a").previousSecrets.map(\.hint) == [first.key.record.hint])
        try fixture.move(to: "starter")
        #expect(try fixture.status(first) == .suspended)

        let stopped = try fixture.service.stopPreviousSecrets(id: id, organizationId: "org_a", actor: "user_3")
        #expect(stopped.status == .suspended && stopped.previousSecrets.isEmpty && stopped.record.hint == rotated.key.record.hint)
        #expect(try fixture.service.verify(VerifyRequest(key: first.secret.unredacted)).outcome == .notFound)
        #expect(try fixture.service.verify(VerifyRequest(key: rotated.secret.unredacted)).outcome == .planSuspended)
        try fixture.move(to: "pro")
        #expect(try fixture.service.verify(VerifyRequest(key: rotated.secret.unredacted, capability: "booking.read")).outcome
                == .valid)
        #expect(try fixture.service.verify(VerifyRequest(key: first.secret.unredacted)).outcome == .notFound)
        let findings = try fixture.service.reportLeaked([LeakedKeyReport(key: first.secret.unredacted)], action: .flag, actor: nil)
        #expect(findings.map(\.outcome) == [.notAKey])
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
