import Foundation
import KeygateJSON
import KeygateTestSupport
import Testing
@testable import KeyStore

@Suite("Key lifecycle")
struct KeyLifecycleTests {
    @Test(arguments: Backend.withPooler) func creatingAKeyReturnsItsSecretOnceAndTheSecretFindsIt(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let issued = try store.create()
        #expect(issued.key.organizationId == "org_a")
        #expect(issued.key.state(at: store.clock.now()) == .live)
        #expect(issued.key.hint == "kg_live_…" + issued.secret.unredacted.suffix(4))
        #expect(issued.key.id.hasPrefix("key_"))
        #expect(try store.found(issued.secret)?.id == issued.key.id)
        #expect(try store.storage.key(id: issued.key.id, organizationId: "org_a") == issued.key)
    }

    /// Ids are 24 characters, base62 after `key_`, and sort in creation
    /// order (to the millisecond), which keeps index inserts local.
    @Test(arguments: Backend.withPooler) func keyIdsAreBase62AndSortInCreationOrder(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        var ids: [String] = []
        for _ in 0..<50 {
            ids.append(try store.create().key.id)
            store.clock.advance(by: 0.002)
        }
        #expect(ids.allSatisfy { $0.utf8.count == 24 && $0.hasPrefix("key_") && $0.utf8.dropFirst(4).allSatisfy(Base62.isDigit) })
        #expect(ids == ids.sorted())
        #expect(Set(ids).count == ids.count)
    }

    @Test(arguments: Backend.withPooler) func namesAreTrimmedAndOriginsNormalized(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create(store.newKey(
            name: "  Booking widget \n", origins: ["HTTPS://Shop.Example:443", "http://localhost:8080"])).key
        #expect(key.name == "Booking widget")
        #expect(key.allowedOrigins == ["https://shop.example", "http://localhost:8080"])
    }

    @Test(arguments: Backend.withPooler) func aKeyExpiresWhenTheClockPassesItsExpiry(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create(store.newKey(expiresIn: 3600)).key
        store.clock.advance(by: 3599)
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").state(at: store.clock.now()) == .live)
        store.clock.advance(by: 1)
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").state(at: store.clock.now()) == .expired)
        #expect(try store.storage.keys(organizationId: "org_a", filter: .state(.expired), cursor: nil, limit: nil)
            .keys.map(\.id) == [key.id])
        #expect(try store.storage.keys(organizationId: "org_a", filter: .state(.live), cursor: nil, limit: nil)
            .keys.isEmpty)
    }

    @Test(arguments: Backend.withPooler) func updateChangesOnlyWhatItNamesAndLogsTheChange(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create().key
        let updated = try store.storage.update(
            id: key.id, organizationId: "org_a",
            changes: KeyChanges(name: "Zapier (prod)", capabilities: ["booking.read", "booking.create"], rateLimit: 120),
            actor: "user_2")
        #expect(updated.name == "Zapier (prod)")
        #expect(updated.capabilities == ["booking.read", "booking.create"])
        #expect(updated.rateLimit == 120)
        #expect(updated.allowedOrigins == key.allowedOrigins)
        #expect(try store.storage.key(id: key.id, organizationId: "org_a") == updated)

        let entry = try #require(try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: 1).entries.first)
        #expect(entry.action == .keyUpdated)
        #expect(entry.actor == "user_2")
        #expect(entry.details["rateLimit"] == ["from": 60, "to": 120])
        #expect(entry.details["name"] != nil && entry.details["allowedOrigins"] == nil)
    }

    @Test(arguments: Backend.withPooler) func anUpdateThatChangesNothingLeavesNoTrace(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create().key
        let token = try store.storage.changeToken()
        // No field at all, and every field given as it is.
        let same = KeyChanges(name: key.name, capabilities: key.capabilities, rateLimit: key.rateLimit,
                              allowedOrigins: key.allowedOrigins, expiresAt: key.expiresAt)
        for changes in [KeyChanges(), same] {
            let answered = try store.storage.update(id: key.id, organizationId: "org_a", changes: changes, actor: "user_2")
            #expect(answered == key)
        }
        #expect(try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries.count == 1)
        #expect(try store.storage.events(organizationId: "org_a", after: nil, limit: 50).events.map(\.type) == [.keyCreated])
        #expect(try store.storage.changeToken().keys == token.keys, "nothing in the change log: no process reads the key again")
    }

    @Test(arguments: Backend.withPooler) func rotationWithoutGraceStopsTheOldSecretAtOnce(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let issued = try store.create()
        let rotated = try store.storage.rotate(id: issued.key.id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)
        #expect(rotated.secret != issued.secret)
        #expect(rotated.previousSecretExpiresAt == nil)
        #expect(rotated.key.id == issued.key.id)
        #expect(rotated.key.hint == "kg_live_…" + rotated.secret.unredacted.suffix(4))
        #expect(try store.found(issued.secret) == nil)
        #expect(try store.found(rotated.secret)?.id == issued.key.id)
    }

    @Test(arguments: Backend.withPooler) func rotationWithGraceKeepsTheOldSecretUntilItsDeadlineAndNotAMomentAfter(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let issued = try store.create()
        let rotated = try store.storage.rotate(id: issued.key.id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        #expect(rotated.previousSecretExpiresAt == store.clock.now().addingTimeInterval(600))
        store.clock.advance(by: 599.999)
        guard case .found(let old) = try store.storage.find(secret: issued.secret.unredacted) else {
            Issue.record("the previous secret stopped before its deadline")
            return
        }
        #expect(old.secretExpiresAt == rotated.previousSecretExpiresAt)
        store.clock.advance(by: 0.001)
        #expect(try store.found(issued.secret) == nil)
        #expect(try store.found(rotated.secret)?.id == issued.key.id)
    }

    @Test(arguments: Backend.withPooler) func rotatingTwiceKeepsEachPreviousSecretToItsOwnDeadline(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let first = try store.create()
        let second = try store.storage.rotate(id: first.key.id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        let third = try store.storage.rotate(id: first.key.id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)
        #expect(try store.found(first.secret)?.id == first.key.id)
        #expect(try store.found(second.secret) == nil)
        #expect(try store.found(third.secret)?.id == first.key.id)
    }

    /// What the dashboard shows of a rotated key: each earlier secret still
    /// working, named by the hint it had, soonest to stop first, until its
    /// deadline; a rotation without grace leaves none behind, and keys that
    /// have none are not in the answer.
    @Test(arguments: Backend.withPooler) func previousSecretsAreNamedByTheirHintsUntilTheirDeadlines(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let first = try store.create()
        let untouched = try store.create()
        #expect(try store.storage.previousSecrets(keyIds: [first.key.id, untouched.key.id]).isEmpty)
        let second = try store.storage.rotate(id: first.key.id, organizationId: "org_a", gracePeriodSeconds: 3_600, actor: nil)
        store.clock.advance(by: 60)
        let third = try store.storage.rotate(id: first.key.id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        // Rotated out without grace: gone at once, nothing to show.
        _ = try store.storage.rotate(id: untouched.key.id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)

        let now = store.clock.now()
        let expected = [
            PreviousSecret(hint: second.key.hint, expiresAt: try #require(third.previousSecretExpiresAt)),
            PreviousSecret(hint: first.key.hint, expiresAt: try #require(second.previousSecretExpiresAt)),
        ]
        #expect(expected.map(\.expiresAt) == [now.addingTimeInterval(600), now.addingTimeInterval(3_540)])
        #expect(first.key.hint != second.key.hint)
        #expect(try store.storage.previousSecrets(keyIds: [first.key.id, untouched.key.id, "key_unknown"]) == [first.key.id: expected])

        // One key with its secrets, as the dashboard reads it: the same answer.
        #expect(try store.storage.keyWithPreviousSecrets(id: first.key.id, organizationId: "org_a") == (third.key, expected))
        #expect(try store.storage.keyWithPreviousSecrets(id: untouched.key.id, organizationId: "org_a").previousSecrets.isEmpty)
        #expect(throws: KeyStoreError(.notFound, field: "keyId")) {
            try store.storage.keyWithPreviousSecrets(id: first.key.id, organizationId: "org_b")
        }
        // And a page of keys with theirs: only the keys that have any, on every page.
        func listed(_ filter: KeyFilter = .all, limit: Int? = nil) throws -> [String: [PreviousSecret]] {
            var found: [String: [PreviousSecret]] = [:]
            var cursor: String?
            repeat {
                let (page, secrets) = try store.storage.keysWithPreviousSecrets(organizationId: "org_a", filter: filter,
                                                                                cursor: cursor, limit: limit)
                #expect(Set(secrets.keys).isSubset(of: Set(page.keys.map(\.id))))
                found.merge(secrets) { $1 }
                cursor = page.nextCursor
            } while cursor != nil
            return found
        }
        #expect(try listed() == [first.key.id: expected])
        #expect(try listed(.state(.live), limit: 1) == [first.key.id: expected])
        #expect(try listed(.state(.revoked)).isEmpty)

        store.clock.advance(by: 600)
        #expect(try store.storage.previousSecrets(keyIds: [first.key.id]) == [first.key.id: [expected[1]]])
        #expect(try store.storage.keyWithPreviousSecrets(id: first.key.id, organizationId: "org_a").previousSecrets == [expected[1]])
        // A revoked key has none to show, whatever their deadlines.
        let revoked = try store.storage.revoke(id: first.key.id, organizationId: "org_a", actor: nil)
        #expect(try store.storage.keyWithPreviousSecrets(id: first.key.id, organizationId: "org_a") == (revoked, []))
        #expect(try listed().isEmpty)
        store.clock.advance(by: 2_940)
        #expect(try store.storage.previousSecrets(keyIds: [first.key.id]).isEmpty)
        #expect(try store.storage.previousSecrets(keyIds: []).isEmpty)
    }

    /// At most ten earlier secrets work at once: an eleventh rotation with
    /// a grace period is refused and changes nothing, one without grace
    /// still goes through (a leak must be answerable), and a secret whose
    /// grace ran out makes room.
    @Test(arguments: Backend.withPooler) func aKeyHasAtMostTenEarlierSecretsWorking(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let id = try store.create().key.id
        for number in 1...KeyRules.maximumPreviousSecrets {
            _ = try store.storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 600 + number, actor: nil)
        }
        let before = try store.storage.keyWithPreviousSecrets(id: id, organizationId: "org_a")
        #expect(before.previousSecrets.count == 10)
        #expect(throws: KeyStoreError(.tooManyPreviousSecrets, field: "gracePeriodSeconds", ["max": "10"])) {
            try store.storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil)
        }
        #expect(try store.storage.keyWithPreviousSecrets(id: id, organizationId: "org_a") == before)
        #expect(try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries.count == 11)

        let atOnce = try store.storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)
        #expect(atOnce.previousSecretExpiresAt == nil && atOnce.key.hint != before.key.hint)
        // The first one's grace (601 s) runs out: room for one more.
        store.clock.advance(by: 601)
        let again = try store.storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil)
        #expect(try store.storage.previousSecrets(keyIds: [id])[id]?.count == 10 && again.previousSecretExpiresAt != nil)
    }

    /// A key id with a NUL names no key, whatever follows it: PostgreSQL's
    /// client would send only the text before it.
    @Test(arguments: Backend.withPooler) func aKeyIdWithANulNamesNoKey(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let id = try store.create().key.id + "\u{0}x"
        let notFound = KeyStoreError(.notFound, field: "keyId")
        #expect(throws: notFound) { try store.storage.key(id: id, organizationId: "org_a") }
        #expect(throws: notFound) { try store.storage.keyWithPreviousSecrets(id: id, organizationId: "org_a") }
        #expect(throws: notFound) { try store.storage.stopPreviousSecrets(id: id, organizationId: "org_a", actor: nil) }
        #expect(throws: notFound) { try store.storage.revoke(id: id, organizationId: "org_a", actor: nil) }
    }

    /// A secret rotated out before stores kept hints reads with none, in
    /// the key's own read too.
    @Test(arguments: Backend.withPooler) func anEarlierSecretWithoutAHintReadsAsNull(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let first = try store.create()
        let rotated = try store.storage.rotate(id: first.key.id, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil)
        try store.execute("UPDATE key_secret SET hint = NULL WHERE expires_at IS NOT NULL")
        let deadline = try #require(rotated.previousSecretExpiresAt)
        #expect(try store.storage.keyWithPreviousSecrets(id: first.key.id, organizationId: "org_a").previousSecrets
                == [PreviousSecret(hint: nil, expiresAt: deadline)])
        #expect(try store.storage.previousSecrets(keyIds: [first.key.id])[first.key.id] == [PreviousSecret(hint: nil, expiresAt: deadline)])
        #expect(try store.storage.keysWithPreviousSecrets(organizationId: "org_a", filter: .all, cursor: nil, limit: nil)
            .previousSecrets == [first.key.id: [PreviousSecret(hint: nil, expiresAt: deadline)]])
    }

    /// A leaked earlier secret is stopped without revoking the key: every
    /// secret rotations left working stops at once, the current one goes
    /// on, and the log and the outbox name what stopped, never the secrets
    /// themselves. Stopping again, with none left, writes nothing.
    @Test(arguments: Backend.withPooler) func stoppingPreviousSecretsLeavesOnlyTheCurrentOneWorking(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let first = try store.create()
        let id = first.key.id
        let second = try store.storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 3_600, actor: nil)
        store.clock.advance(by: 60)
        let third = try store.storage.rotate(id: id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        // A secret whose grace ran out before is not stopped: it had stopped.
        let other = try store.create()
        let lapsed = try store.storage.rotate(id: other.key.id, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil)
        store.clock.advance(by: 60)
        #expect(try store.found(first.secret)?.id == id && store.found(second.secret)?.id == id)
        let before = try store.storage.previousSecrets(keyIds: [id])[id] ?? []
        #expect(before.map(\.hint) == [second.key.hint, first.key.hint])

        let stopped = try store.storage.stopPreviousSecrets(id: id, organizationId: "org_a", actor: "user_7")
        #expect(stopped == third.key)
        #expect(try store.found(first.secret) == nil && store.found(second.secret) == nil)
        #expect(try store.found(third.secret)?.id == id)
        #expect(try store.storage.previousSecrets(keyIds: [id]).isEmpty)

        let named: JSON = .array(before.map { ["hint": .string($0.hint!), "expiresAt": .string(RFC3339.string($0.expiresAt))] })
        let entry = try #require(try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: 1).entries.first)
        #expect(entry.action == .keyPreviousSecretsStopped && entry.actor == "user_7" && entry.keyId == id)
        #expect(entry.details == ["name": .string("Zapier"), "secrets": named])
        let event = try #require(try store.storage.events(organizationId: "org_a", after: nil, limit: 200).events.last)
        #expect(event.type == .keyPreviousSecretsStopped && event.keyId == id && event.data["secrets"] == named)
        #expect(event.data["hint"] == .string(third.key.hint))
        let written = "\(entry)\(event)"
        for secret in [first.secret, second.secret, third.secret] { #expect(!written.contains(secret.unredacted)) }

        // Nothing left to stop: answered as it is, nothing written.
        let audited = try store.rows(in: "audit_entry")
        let events = try store.rows(in: "outbox_event")
        #expect(try store.storage.stopPreviousSecrets(id: id, organizationId: "org_a", actor: nil) == third.key)
        #expect(try store.storage.stopPreviousSecrets(id: other.key.id, organizationId: "org_a", actor: nil) == lapsed.key)
        #expect(try store.rows(in: "audit_entry") == audited && store.rows(in: "outbox_event") == events)

        #expect(throws: KeyStoreError(.notFound, field: "keyId")) {
            try store.storage.stopPreviousSecrets(id: id, organizationId: "org_b", actor: nil)
        }
        _ = try store.storage.revoke(id: id, organizationId: "org_a", actor: nil)
        #expect(throws: KeyStoreError(.keyRevoked, field: "keyId")) {
            try store.storage.stopPreviousSecrets(id: id, organizationId: "org_a", actor: nil)
        }
        let expiring = try store.create(store.newKey(expiresIn: 10)).key
        store.clock.advance(by: 10)
        #expect(throws: KeyStoreError(.keyExpired, field: "keyId")) {
            try store.storage.stopPreviousSecrets(id: expiring.id, organizationId: "org_a", actor: nil)
        }
    }

    @Test(arguments: Backend.withPooler) func aRevokedKeyStaysListedAndCanNeverBeUsedOrChangedAgain(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let issued = try store.create()
        let revoked = try store.storage.revoke(id: issued.key.id, organizationId: "org_a", actor: "user_1")
        #expect(revoked.state(at: store.clock.now()) == .revoked)
        #expect(try store.found(issued.secret)?.state(at: store.clock.now()) == .revoked)
        #expect(try store.storage.keys(organizationId: "org_a", filter: .state(.revoked), cursor: nil, limit: nil)
            .keys.map(\.id) == [issued.key.id])
        #expect(throws: KeyStoreError(.keyRevoked, field: "keyId")) {
            try store.storage.update(id: issued.key.id, organizationId: "org_a", changes: KeyChanges(name: "x"), actor: nil)
        }
        #expect(throws: KeyStoreError(.keyRevoked, field: "keyId")) {
            try store.storage.rotate(id: issued.key.id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)
        }
    }

    /// A revocation's reason goes into the audit trail and the key's event
    /// as given, less the spaces around it: a blank one, one longer than
    /// 400 bytes or one hiding characters is refused naming `reason`, and
    /// the key stays as it was.
    @Test(arguments: Backend.withPooler) func aRevocationsReasonIsPrintableAndShortOrRefused(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create().key
        let refused = KeyStoreError(.invalidName, field: "reason", ["min": "1", "max": "400"])
        for reason in ["", " \n ", String(repeating: "x", count: 401), "gist\u{202E}txt.md", "line\nbreak"] {
            #expect(throws: refused) { try store.storage.revoke(id: key.id, organizationId: "org_a", actor: nil, reason: reason) }
        }
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").revokedAt == nil)
        let longest = String(repeating: "ł", count: 200)  // 400 bytes
        let revoked = try store.storage.revoke(id: key.id, organizationId: "org_a", actor: nil, reason: " \(longest) ")
        #expect(revoked.revokedAt != nil)
        let entry = try #require(try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: 1).entries.first)
        #expect(entry.action == .keyRevoked && entry.details["reason"] == .string(longest))
    }

    @Test(arguments: Backend.withPooler) func revokingTwiceChangesNothingTheSecondTime(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create().key
        let first = try store.storage.revoke(id: key.id, organizationId: "org_a", actor: nil)
        store.clock.advance(by: 60)
        let second = try store.storage.revoke(id: key.id, organizationId: "org_a", actor: nil)
        #expect(second.revokedAt == first.revokedAt)
        let actions = try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries.map(\.action)
        #expect(actions == [.keyRevoked, .keyCreated])
    }

    @Test(arguments: Backend.withPooler) func anExpiredKeyCannotBeRotated(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create(store.newKey(expiresIn: 10)).key
        store.clock.advance(by: 10)
        #expect(throws: KeyStoreError(.keyExpired, field: "keyId")) {
            try store.storage.rotate(id: key.id, organizationId: "org_a", gracePeriodSeconds: 0, actor: nil)
        }
    }

    @Test(arguments: Backend.withPooler) func deleteRemovesTheKeyItsSecretsAndUsageButTheLogRemembers(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let issued = try store.create()
        _ = try store.storage.rotate(id: issued.key.id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        try store.storage.recordUsage([UsageIncrement(keyId: issued.key.id, day: store.clock.now(), valid: 3, invalid: 1)])
        try store.storage.delete(id: issued.key.id, organizationId: "org_a", actor: "user_1")

        #expect(throws: KeyStoreError(.notFound, field: "keyId")) {
            try store.storage.key(id: issued.key.id, organizationId: "org_a")
        }
        #expect(try store.found(issued.secret) == nil)
        #expect(try store.rows(in: "key_secret") + store.rows(in: "key_usage_day") == 0)
        let entries = try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries
        #expect(entries.map(\.action) == [.keyDeleted, .keyRotated, .keyCreated])
        #expect(entries.first?.keyId == issued.key.id)
        #expect(entries.first?.details["name"] == .string("Zapier"))
    }

    @Test(arguments: Backend.withPooler) func usageIsCountedPerDayAndShownWithTheKey(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create().key
        let today = store.clock.now()
        let used = today.addingTimeInterval(5)
        try store.storage.recordUsage([
            UsageIncrement(keyId: key.id, day: today, valid: 5, invalid: 2, lastUsedAt: used, lastOrigin: "https://a.example"),
            UsageIncrement(keyId: key.id, day: today.addingTimeInterval(86_400), valid: 1, invalid: 0),
            UsageIncrement(keyId: "key_deletedmeanwhile", day: today, valid: 1, invalid: 0, lastUsedAt: used),
        ])
        try store.storage.recordUsage([UsageIncrement(keyId: key.id, day: today, valid: 1, invalid: 0)])
        let listed = try #require(try store.storage.keys(organizationId: "org_a", filter: .all, cursor: nil, limit: nil).keys.first)
        #expect(listed.usage == KeyUsage(valid: 7, invalid: 2))
        #expect(listed.lastUsedAt == used)
        #expect(listed.lastOrigin == "https://a.example" && listed.lastIP == nil)
        #expect(try store.rows(in: "key_usage_day") == 2)
    }

    @Test(arguments: Backend.withPooler) func everyMutationIsAuditedWithItsActorAndNeverTheSecret(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let issued = try store.create()
        let rotated = try store.storage.rotate(id: issued.key.id, organizationId: "org_a", gracePeriodSeconds: 30, actor: "user_9")
        _ = try store.storage.update(id: issued.key.id, organizationId: "org_a", changes: KeyChanges(rateLimit: 10), actor: "user_9")
        _ = try store.storage.stopPreviousSecrets(id: issued.key.id, organizationId: "org_a", actor: "user_9")
        _ = try store.storage.revoke(id: issued.key.id, organizationId: "org_a", actor: "user_9")
        let entries = try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries
        #expect(entries.map(\.action) == [.keyRevoked, .keyPreviousSecretsStopped, .keyUpdated, .keyRotated, .keyCreated])
        #expect(entries.map(\.actor) == ["user_9", "user_9", "user_9", "user_9", "user_1"])
        #expect(entries.allSatisfy { $0.keyId == issued.key.id && $0.at == store.clock.now() })
        #expect(entries.last?.details["capabilities"] == .array([.string("booking.read")]))
        let text = "\(entries)"
        #expect(!text.contains(issued.secret.unredacted) && !text.contains(rotated.secret.unredacted))
    }

    /// A key's page in the dashboard shows what was done to it: its own
    /// entries, newest first, page by page, kept after it is deleted;
    /// another key's, another organization's and a made-up id's show nothing here.
    @Test(arguments: Backend.withPooler) func aKeysAuditTrailIsItsEntriesAloneAndOutlivesIt(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let first = try store.create().key
        let second = try store.create(store.newKey(name: "Partner")).key
        let elsewhere = try store.create(store.newKey(organization: "org_b")).key
        _ = try store.storage.rotate(id: first.id, organizationId: "org_a", gracePeriodSeconds: 0, actor: "user_2")
        _ = try store.storage.update(id: second.id, organizationId: "org_a", changes: KeyChanges(rateLimit: 10), actor: "user_2")
        _ = try store.storage.revoke(id: first.id, organizationId: "org_a", actor: "user_3")
        try store.storage.delete(id: first.id, organizationId: "org_a", actor: "user_3")

        func trail(_ keyId: String, _ organization: String = "org_a", limit: Int? = nil) throws -> [AuditEntry] {
            var entries: [AuditEntry] = []
            var cursor: String?
            repeat {
                let page = try store.storage.auditLog(organizationId: organization, keyId: keyId, cursor: cursor, limit: limit)
                entries += page.entries
                cursor = page.nextCursor
            } while cursor != nil && entries.count < 20
            return entries
        }
        let deleted = try trail(first.id)
        #expect(deleted.map(\.action) == [.keyDeleted, .keyRevoked, .keyRotated, .keyCreated])
        #expect(deleted.allSatisfy { $0.keyId == first.id } && deleted.map(\.actor) == ["user_3", "user_3", "user_2", "user_1"])
        #expect(try trail(first.id, limit: 1).map(\.id) == deleted.map(\.id))
        #expect(try trail(second.id).map(\.action) == [.keyUpdated, .keyCreated])
        // The whole log holds both keys' entries, in the same order.
        let log = try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries
        #expect(log.filter { $0.keyId == first.id }.map(\.id) == deleted.map(\.id) && log.count == 6)

        #expect(try trail(elsewhere.id).isEmpty)
        #expect(try trail(elsewhere.id, "org_b").map(\.action) == [.keyCreated])
        #expect(try trail("key_0000000000000000000000").isEmpty)
    }

    @Test(arguments: Backend.withPooler) func anOmittedActorIsRecordedAsSystem(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        var request = store.newKey()
        request.actor = nil
        _ = try store.create(request)
        #expect(try store.storage.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries.first?.actor == "system")
    }
}

@Suite("Audit details as stored")
struct AuditDetailsTests {
    @Test func detailsAreValidJSONThatReadsBackTheSame() throws {
        let details: JSON = [
            "change": ["from": "a", "to": "b"],
            "list": [-3, true, nil, .number("1.5")],
            "name": .string("Quote \" backslash \\ newline \n tab \t bell \u{7} émoji 🚀"),
        ]
        let text = details.text
        #expect(text.hasPrefix(#"{"change":{"from":"a","to":"b"},"list":[-3,true,null,1.5],"name":"#))
        #expect(try JSONParser.parse(text) == details)
        // Foundation reads it the same way: the writer's escapes are standard.
        let foundation = try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
        #expect(foundation?["name"] as? String == "Quote \" backslash \\ newline \n tab \t bell \u{7} émoji 🚀")
    }
}

@Suite("Flushes counted once")
struct FlushIdentityTests {
    /// A flush sent again under its identity (its first commit's outcome
    /// unknown to the sender) adds nothing; another identity adds again.
    @Test(arguments: Backend.withPooler) func aFlushSentTwiceUnderOneIdentityCountsOnce(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let key = try store.create().key
        let now = store.clock.now()
        let usage = [UsageIncrement(keyId: key.id, day: now, valid: 4, invalid: 1)]
        let meters = [MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: now, amount: 5)]
        try store.storage.flush(usage: usage, meters: meters, identity: "flush_a")
        try store.storage.flush(usage: usage, meters: meters, identity: "flush_a")
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage == KeyUsage(valid: 4, invalid: 1))
        #expect(try store.storage.readings(organizationId: "org_a", periods: [("api.requests", now)]).first?.used == 5)
        try store.storage.flush(usage: usage, meters: meters, identity: "flush_b")
        #expect(try store.storage.key(id: key.id, organizationId: "org_a").usage == KeyUsage(valid: 8, invalid: 2))
        #expect(try store.storage.readings(organizationId: "org_a", periods: [("api.requests", now)]).first?.used == 10)
    }

    /// A flush that names a key deleted since its verifications were
    /// counted writes the other keys' counts, totals and breakdown alike,
    /// and drops the deleted key's: nothing is refused, and nothing is
    /// written under an id no key has.
    @Test(arguments: Backend.withPooler) func aFlushNamingAKeyDeletedSinceWritesTheOthersCounts(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let deleted = try store.create(store.newKey(name: "deleted")).key
        let kept = try store.create(store.newKey(name: "kept")).key
        let now = store.clock.now()
        try store.storage.delete(id: deleted.id, organizationId: "org_a", actor: nil)
        let usage = [deleted, kept].map {
            UsageIncrement(keyId: $0.id, day: now, valid: 3, invalid: 1, lastUsedAt: now,
                           refusals: ["rate_limited": 1], capabilities: ["booking.read": 4])
        }
        try store.storage.flush(usage: usage, meters: [], identity: "flush_a")
        #expect(try store.storage.key(id: kept.id, organizationId: "org_a").usage == KeyUsage(valid: 3, invalid: 1))
        #expect(try store.rows(in: "key_usage_day") == 1)
        #expect(try store.rows(in: "key_usage_count") == 2)
    }

    /// A flush batch of organizations' counts alone, no key's among them:
    /// what a flush holding more organizations than a batch takes sends
    /// after its keys' batches. (PostgreSQL's store once dropped it.)
    @Test(arguments: Backend.withPooler) func aFlushOfMeterCountsAloneIsWritten(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let now = store.clock.now()
        try store.storage.flush(usage: [], meters: [
            MeterIncrement(organizationId: "org_a", meter: "api.requests", periodStart: now, amount: 3),
            MeterIncrement(organizationId: "org_b", meter: "api.requests", periodStart: now, amount: 4),
        ], identity: "meters_only")
        let used = try ["org_a", "org_b"].map { organization in
            try store.storage.readings(organizationId: organization, periods: [("api.requests", now)]).first?.used
        }
        #expect(used == [3, 4])
    }
}
