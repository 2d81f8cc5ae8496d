import Foundation
import GRDB
@testable import KeyStore
import KeyStorePostgres
import KeygateService
import KeygateTestSupport
import PlanCatalog
import Testing

/// A database the first release of each store wrote (SQLite's schema v2,
/// PostgreSQL's v1: keys, secrets, usage, audit, subscriptions, meters),
/// opened by this build: every migration since runs over rows, not an
/// empty file, and what the product sees afterwards is what it saw before.
@Suite("Upgrading a database of the first release")
struct UpgradeTests {
    /// The first release's rows, written as it wrote them: an organization
    /// on Pro with a month of metered use, a billing event and a recorded
    /// use already seen; a key in use, a revoked one and one rotated with a
    /// grace period (both of its secrets live); a day of usage and an audit
    /// entry.
    struct FirstRelease {
        let format: KeyFormat
        let live: RawKey
        let revoked: RawKey
        let rotatedCurrent: RawKey
        let rotatedPrevious: RawKey
        let graceEnds = utc(2026, 11, 22, 13)

        init(format: KeyFormat) {
            self.format = format
            live = format.generate(environment: "live")
            revoked = format.generate(environment: "live")
            rotatedCurrent = format.generate(environment: "live")
            rotatedPrevious = format.generate(environment: "live")
        }

        /// The rows, with `blob` spelling a digest as the store's SQL does.
        func sql(blob: (KeyDigest) -> String) throws -> String {
            func digest(_ key: RawKey) throws -> String { blob(try format.parse(key.unredacted).digest) }
            let created = StorageCoding.milliseconds(utc(2026, 10, 1))
            let month = StorageCoding.milliseconds(utc(2026, 11, 1))
            return """
                INSERT INTO subscription (organization_id, plan, status, last_event_at, updated_at)
                    VALUES ('org_a', 'pro', 'active', \(created), \(created));
                INSERT INTO billing_event (event_id, organization_id, occurred_at, received_at, outcome)
                    VALUES ('evt_first', 'org_a', \(created), \(created), 'applied');
                INSERT INTO meter_usage (organization_id, meter, period_start, used) VALUES
                    ('org_a', 'api.requests', \(month), 1234), ('org_a', 'bookings', \(month), 7);
                INSERT INTO usage_record (organization_id, idempotency_key, meter, period_start, amount, recorded_at)
                    VALUES ('org_a', 'booking_1', 'bookings', \(month), 7, \(created));
                INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit,
                                     allowed_origins, created_at, revoked_at, last_used_at) VALUES
                    ('key_FirstReleaseLive0001', 'org_a', 'Zapier', 'owner_integration', 'booking.read booking.create',
                     'live', '\(live)', 60, '', \(created), NULL, \(created + 5000)),
                    ('key_FirstReleaseRevoked1', 'org_a', 'Old sync', 'owner_integration', 'booking.read',
                     'live', '\(revoked)', 60, '', \(created), \(created + 1000), NULL),
                    ('key_FirstReleaseRotated1', 'org_a', 'Channel manager', 'owner_integration', 'booking.read',
                     'live', '\(rotatedCurrent)', 30, '', \(created), NULL, NULL);
                INSERT INTO key_secret (digest, key_id, expires_at) VALUES
                    (\(try digest(live)), 'key_FirstReleaseLive0001', NULL),
                    (\(try digest(revoked)), 'key_FirstReleaseRevoked1', NULL),
                    (\(try digest(rotatedCurrent)), 'key_FirstReleaseRotated1', NULL),
                    (\(try digest(rotatedPrevious)), 'key_FirstReleaseRotated1', \(StorageCoding.milliseconds(graceEnds)));
                INSERT INTO key_usage_day (key_id, day, valid, invalid) VALUES
                    ('key_FirstReleaseLive0001', '2026-11-21', 10, 2);
                INSERT INTO audit_entry (organization_id, at, actor, action, key_id, details)
                    VALUES ('org_a', \(created), 'dashboard', 'key.created', 'key_FirstReleaseLive0001', '{"name":"Zapier"}');
                """
        }
    }

    /// The service on a database of `backend` that the first release
    /// wrote, and the rows it wrote; `then` is SQL the first release ran
    /// after them.
    func upgraded(_ backend: Backend, then: String = "") throws -> (ServiceFixture, FirstRelease) {
        let rows = try Self.firstReleaseRows()
        switch backend {
        case .sqlite:
            let path = try ScratchFolder.make("keygate-upgrade").appending(path: "first.sqlite").path
            try Self.writeFirstRelease(rows, at: path, then: then)
            return (try ServiceFixture(backend: .sqlite, database: KeyDatabase.open(path: path)), rows)
        case .postgres, .pooled:
            let url = try Backend.freshPostgresSchema()
            try PostgresKeyStorage.migrate(url: url, upTo: 1)
            try PostgresKeyStorage.execute(try rows.sql { "'\\x\(Self.hex($0))'::bytea" } + then, url: url)
            return (try ServiceFixture(backend: .postgres, postgresURL: url), rows)
        }
    }

    static func firstReleaseRows() throws -> FirstRelease {
        let catalog = try PlanCatalog.load(contentsOf: ServiceFixture.repository.appending(path: "Plans/plans.xml"))
        return FirstRelease(format: KeyRules(catalog: catalog).format)
    }

    static func hex(_ digest: KeyDigest) -> String { digest.bytes.map { String(format: "%02x", $0) }.joined() }

    /// A SQLite file at `path` as the first release left it, holding `rows`.
    static func writeFirstRelease(_ rows: FirstRelease, at path: String, then: String = "") throws {
        let queue = try DatabaseQueue(path: path)
        try KeyDatabase.migrator.migrate(queue, upTo: "v2: subscriptions, billing events, meters")
        let sql = try rows.sql { "X'\(hex($0))'" } + then
        try queue.write { db in try db.execute(sql: sql) }
        try queue.close()
    }

    @Test(arguments: Backend.available)
    func everyKeyCountAndEventOfTheFirstReleaseAnswersAsBefore(_ backend: Backend) throws {
        let (fixture, rows) = try upgraded(backend)
        let service = fixture.service
        func verify(_ key: RawKey, _ capability: String = "booking.read") throws -> VerifyResult {
            try service.verify(VerifyRequest(key: key.unredacted, capability: capability))
        }

        // Keys: listed as they were (newest first), each secret answering as it did.
        let listed = try service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys
        #expect(listed.map(\.record.id) == ["key_FirstReleaseRotated1", "key_FirstReleaseRevoked1", "key_FirstReleaseLive0001"])
        #expect(listed.map(\.record.name) == ["Channel manager", "Old sync", "Zapier"])
        #expect(listed.map(\.status) == [.active, .revoked, .active])
        #expect(listed.map(\.record.hint) == [rows.rotatedCurrent, rows.revoked, rows.live].map(\.description))
        // The secret the first release rotated out shows, without the hint it never kept.
        #expect(listed.map(\.previousSecrets) == [[PreviousSecret(hint: nil, expiresAt: rows.graceEnds)], [], []])
        let live = try verify(rows.live)
        #expect(live.outcome == .valid && live.keyId == "key_FirstReleaseLive0001")
        #expect(live.capabilities == ["booking.read", "booking.create"] && live.rateLimit?.limit == 60)
        // The month's 1,234 requests counted before the upgrade, and this one.
        #expect(live.quota?.meter == "api.requests" && live.quota?.remaining == 1_000_000 - 1_234 - 1)
        #expect(try verify(rows.live, "webhook.manage").outcome == .insufficientCapability)
        #expect(try verify(rows.revoked).outcome == .revoked)
        #expect(try verify(rows.rotatedCurrent).rateLimit?.limit == 30)
        #expect(try verify(rows.rotatedPrevious).outcome == .valid, "a rotated key's previous secret, within its grace period")
        fixture.clock.set(rows.graceEnds)
        #expect(try verify(rows.rotatedPrevious).outcome == .notFound)
        #expect(try verify(rows.rotatedCurrent).outcome == .valid)

        // Usage, audit, subscription, meters and idempotency as they were.
        try service.flushUsage()
        let days = try service.usage(organizationId: "org_a", keyId: "key_FirstReleaseLive0001",
                                     from: utc(2026, 11, 21), to: utc(2026, 11, 22))
        #expect(days.map(\.date) == ["2026-11-21", "2026-11-22"])
        #expect(days.map(\.valid) == [10, 1] && days.map(\.invalid) == [2, 1])
        let audit = try service.auditLog(organizationId: "org_a", cursor: nil, limit: nil).entries
        #expect(audit.map(\.action) == [.keyCreated] && audit.first?.actor == "dashboard")
        #expect(audit.first?.details == ["name": "Zapier"])
        let subscription = try service.subscription(organizationId: "org_a")
        #expect(subscription.plan == "pro" && subscription.status == .active)
        // The first release kept an event's organization and time, not its
        // plan: a replay is told by those two alone.
        let replayed = try service.setPlan(SetPlanRequest(
            organizationId: "org_a", plan: "starter", eventId: "evt_first", occurredAt: utc(2026, 10, 1)))
        #expect(!replayed.applied && replayed.reason == .duplicateEvent)
        #expect(throws: ServiceError(.eventIdReused, field: "eventId", ["differs": "occurredAt"])) {
            try service.setPlan(SetPlanRequest(
                organizationId: "org_a", plan: "pro", eventId: "evt_first", occurredAt: fixture.clock.now()))
        }
        let bookings = try service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 7, idempotencyKey: "booking_1")
        #expect(bookings.used == 7, "a use recorded before the upgrade is recognised, not counted again")
        // Nor whether a use reserved: a retry is told by its meter and amount.
        let reserved = try service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 7,
                                               idempotencyKey: "booking_1", reserve: true)
        #expect(reserved.used == 7)
        #expect(throws: ServiceError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": "amount"])) {
            try service.recordUsage(organizationId: "org_a", meter: "bookings", amount: 8, idempotencyKey: "booking_1")
        }

        // What is written now lands beside it, and every change is seen.
        let created = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        #expect(try verify(created.secret).outcome == .valid)
        _ = try service.revokeKey(id: "key_FirstReleaseLive0001", organizationId: "org_a", actor: "dashboard")
        #expect(try verify(rows.live).outcome == .revoked)
        let rotated = try service.rotateKey(id: "key_FirstReleaseRotated1", organizationId: "org_a", gracePeriodSeconds: 0,
                                            actor: "dashboard")
        #expect(try verify(rows.rotatedCurrent).outcome == .notFound)
        #expect(try verify(rotated.secret).outcome == .valid)
        // A creation under an idempotency key, on the table the upgrade added.
        let request = CreateKeyRequest(organizationId: "org_a", name: "Make", kind: "owner_integration",
                                       capabilities: ["booking.read"], idempotencyKey: "form-1")
        let once = try service.createKey(request)
        #expect(throws: ServiceError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": once.key.record.id])) {
            try service.createKey(request)
        }
        let after = try service.keys(organizationId: "org_a", status: nil, cursor: nil, limit: nil).keys
        #expect(after.first?.record.id == once.key.record.id && after.count == 5)
    }

    /// Origins an earlier release kept as typed (it lower-cased them and
    /// dropped default ports, no more): after the upgrade each is kept,
    /// listed and matched in the spelling a browser sends, two spellings of
    /// one origin become one entry, and one this release refuses stays, so
    /// the key allows no more origins than it did. IPv6 and IPv4 addresses
    /// on keys of their own: each kind of list must be found by itself.
    @Test(arguments: Backend.available)
    func originsKeptInAnEarlierSpellingMatchWhatBrowsersSendAfterTheUpgrade(_ backend: Backend) throws {
        let sixes = ["http://[0:0::1]:8080", "https://app.example.com", "http://[::1]:8080", "http://[::ffff:192.168.0.1]"]
        let fours = ["http://127.1", "http://app.example.com:8080", "http://256.1.1.1", "http://0x7f.0.0.2:3000",
                     "http://2130706433:9"]
        let (fixture, rows) = try upgraded(backend, then: """
            UPDATE api_key SET allowed_origins = '\(sixes.joined(separator: " "))' WHERE id = 'key_FirstReleaseLive0001';
            UPDATE api_key SET allowed_origins = '\(fours.joined(separator: " "))' WHERE id = 'key_FirstReleaseRotated1';
            """)
        func origins(_ id: String) throws -> [String] {
            try fixture.service.key(id: id, organizationId: "org_a").record.allowedOrigins
        }
        #expect(try origins("key_FirstReleaseLive0001") == ["http://[::1]:8080", "https://app.example.com", "http://[::ffff:c0a8:1]"])
        #expect(try origins("key_FirstReleaseRotated1") == ["http://127.0.0.1", "http://app.example.com:8080", "http://256.1.1.1",
                                                            "http://127.0.0.2:3000", "http://127.0.0.1:9"])
        #expect(try origins("key_FirstReleaseRevoked1") == [], "a key that allowed every origin still does")

        func verify(_ key: RawKey, _ origin: String?) throws -> VerifyOutcome {
            try fixture.service.verify(VerifyRequest(key: key.unredacted, capability: "booking.read", origin: origin)).outcome
        }
        for origin in ["http://[::1]:8080", "https://app.example.com", "http://[::ffff:c0a8:1]"] {
            #expect(try verify(rows.live, origin) == .valid, "\(origin)")
        }
        for origin in ["http://127.0.0.1", "http://app.example.com:8080", "http://127.0.0.2:3000", "http://127.0.0.1:9"] {
            #expect(try verify(rows.rotatedCurrent, origin) == .valid, "\(origin)")
        }
        #expect(try verify(rows.rotatedCurrent, "http://256.1.1.1") == .originNotAllowed)
        #expect(try verify(rows.live, "http://[::2]:8080") == .originNotAllowed)
        #expect(try verify(rows.live, nil) == .originNotAllowed)
    }

    /// An entry this version refuses, read as the earlier one stored it,
    /// is named when the dashboard saves the list as it read it, so the
    /// owner learns which one to mend; without it, the list saves.
    @Test(arguments: Backend.available)
    func savingAnUpgradedListAsReadNamesTheEntryThisVersionRefuses(_ backend: Backend) throws {
        let (fixture, _) = try upgraded(backend, then: """
            UPDATE api_key SET allowed_origins = 'http://127.1 http://256.1.1.1' WHERE id = 'key_FirstReleaseLive0001';
            """)
        let service = fixture.service
        let id = "key_FirstReleaseLive0001"
        let asRead = try service.key(id: id, organizationId: "org_a").record.allowedOrigins
        #expect(asRead == ["http://127.0.0.1", "http://256.1.1.1"])
        let refusal = #expect(throws: ServiceError.self) {
            try service.updateKey(id: id, organizationId: "org_a", changes: KeyChanges(allowedOrigins: asRead), actor: nil)
        }
        #expect(refusal?.code == .invalidOrigin)
        #expect(refusal?.field == "allowedOrigins")
        #expect(refusal?.parameters["origin"] == "http://256.1.1.1")

        _ = try service.updateKey(id: id, organizationId: "org_a", changes: KeyChanges(allowedOrigins: ["http://127.0.0.1"]), actor: nil)
        #expect(try service.key(id: id, organizationId: "org_a").record.allowedOrigins == ["http://127.0.0.1"])
    }

    /// During a rolling upgrade a process of the version before still
    /// saves origins as typed, beside processes of this one: both of
    /// these answer as a browser sends them, the one that had the key
    /// cached and the one that reads it fresh.
    @Test(arguments: Backend.available)
    func originsAnOlderProcessSavesAfterTheUpgradeMatchWhatBrowsersSend(_ backend: Backend) throws {
        let processes = try ServiceFixture.processes(2, backend: backend)
        let (warm, fresh) = (processes[0], processes[1])
        try warm.move("org_a", to: "pro")
        // IPv4 and IPv6 on keys of their own: each kind of list must be recognized by itself.
        let four = try warm.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let six = try warm.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        func verify(_ process: ServiceFixture, _ key: CreatedKey, _ origin: String) throws -> VerifyOutcome {
            try process.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read", origin: origin)).outcome
        }
        for key in [four, six] { #expect(try verify(warm, key, "http://127.0.0.1:8080") == .valid, "no origins allow every one") }

        let olderSaves = """
            UPDATE api_key SET allowed_origins = 'http://127.1:8080 https://app.example.com http://127.0.0.1:8080'
            WHERE id = '\(four.key.record.id)';
            UPDATE api_key SET allowed_origins = 'http://[0:0::1] https://app.example.com' WHERE id = '\(six.key.record.id)';
            """
        if let url = warm.postgresURL {
            try PostgresKeyStorage.execute(olderSaves, url: url)
        } else {
            try KeyDatabase.open(path: try #require(warm.sqlitePath)).write { db in try db.execute(sql: olderSaves) }
        }
        let expected = [(four, ["http://127.0.0.1:8080", "https://app.example.com"]), (six, ["http://[::1]", "https://app.example.com"])]
        for process in [warm, fresh] {
            for (key, origins) in expected {
                #expect(try process.service.key(id: key.key.record.id, organizationId: "org_a").record.allowedOrigins == origins)
                for origin in origins { #expect(try verify(process, key, origin) == .valid, "\(origin)") }
                #expect(try verify(process, key, "http://127.0.0.2:8080") == .originNotAllowed)
            }
        }
    }

    /// A backup taken by the first release (keys' counts inside the
    /// database, no usage file) restored over a database of this one,
    /// whose counts are in its usage file: the restored database has the
    /// backup's counts, and none of the database it replaced.
    @Test func aFirstReleaseBackupRestoredOverThisReleasesDatabaseKeepsOnlyItsOwnCounts() throws {
        let folder = try ScratchFolder.make("keygate-restore-old")
        let backup = folder.appending(path: "first.sqlite").path
        try Self.writeFirstRelease(try Self.firstReleaseRows(), at: backup)

        // This release's database, its key used on the backup's day.
        let path = folder.appending(path: "keygate.sqlite").path
        do {
            let current = try ServiceFixture(database: try KeyDatabase.open(path: path))
            current.clock.set(utc(2026, 11, 21, 9))
            try current.move("org_a", to: "pro")
            let key = try current.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
            for _ in 0..<3 { _ = try current.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")) }
            try current.service.flushUsage()
            #expect(try current.service.usage(organizationId: "org_a", keyId: nil, from: utc(2026, 11, 21), to: utc(2026, 11, 21))
                .map(\.valid) == [3])
        }

        let summary = try SQLiteBackup.restore(from: backup, into: path)
        #expect(summary.keys == 3)
        let restored = try ServiceFixture(database: try KeyDatabase.open(path: path))
        let days = try restored.service.usage(organizationId: "org_a", keyId: nil, from: utc(2026, 11, 21), to: utc(2026, 11, 21))
        #expect(days.map(\.valid) == [10] && days.map(\.invalid) == [2], "\(days)")
        let live = try restored.service.key(id: "key_FirstReleaseLive0001", organizationId: "org_a")
        #expect(live.record.usage.valid == 10)
    }
}
