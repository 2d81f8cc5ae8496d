import Foundation
import GRDB
import KeyStore
import KeyStorePostgres
import KeygateJSON
import KeygateTestSupport
import Locking
import Testing

/// Erasing an organization as each store does it: every row of it goes, in
/// every table that holds one, in one transaction; other organizations
/// keep everything; one audit entry and one event say it happened.
@Suite("Erasing an organization")
struct OrganizationErasureTests {
    /// Every table with an organization's rows, and how to find them: keys'
    /// own tables through their keys, the rest by the organization's id.
    private func rows(of organization: String, _ fixture: StoreFixture, keyIds: [String]) throws -> [String: Int] {
        let keys = keyIds.map { "'\($0)'" }.joined(separator: ", ")
        var counts: [String: Int] = [:]
        for table in ["api_key"] + OrganizationErasureTests.tables {
            counts[table] = try fixture.rows(in: "\(table) WHERE organization_id = '\(organization)'")
        }
        for table in ["key_secret"] {
            counts[table] = try fixture.rows(in: "\(table) WHERE key_id IN (\(keys))")
        }
        return counts
    }

    /// Written out here rather than read from the store's own list: a
    /// table left off that list is what this test is for.
    static let tables = [
        "subscription", "billing_event", "meter_usage", "usage_record", "key_creation", "key_rotation",
        "audit_entry", "outbox_event", "outbox_pruned",
    ]

    /// An organization with something in every table: keys revoked,
    /// rotated (a secret still in its grace period) and created under an
    /// idempotency key, a subscription, a meter used, and events the
    /// retention deleted.
    private func populate(_ organization: String, _ fixture: StoreFixture) throws -> (keyIds: [String], secrets: [RawKey]) {
        let storage = fixture.storage
        _ = try storage.apply(BillingEvent(eventId: "evt_\(organization)", organizationId: organization, plan: "pro",
                                           occurredAt: fixture.clock.now()))
        var first = fixture.newKey(organization: organization, name: "first")
        first.idempotencyKey = "create-\(organization)"
        let created = try fixture.create(first)
        let rotated = try storage.rotate(id: created.key.id, organizationId: organization, gracePeriodSeconds: 3_600,
                                         actor: "user_1", idempotencyKey: "rotate-\(organization)")
        let second = try fixture.create(fixture.newKey(organization: organization, name: "second"))
        _ = try storage.revoke(id: second.key.id, organizationId: organization, actor: "user_1")
        _ = try storage.add(2, to: "bookings", periodStart: fixture.clock.now(), organizationId: organization,
                            idempotencyKey: "use-\(organization)", reserve: false, limit: nil)
        try storage.flush(usage: [UsageIncrement(keyId: created.key.id, day: fixture.clock.now(), valid: 3, invalid: 1)],
                          meters: [MeterIncrement(organizationId: organization, meter: "api.requests",
                                                  periodStart: fixture.clock.now(), amount: 4)],
                          identity: "flush-\(organization)")
        // An event the retention deletes: the organization's pruned mark.
        try storage.appendEvent(NewEvent(type: .keyExpired, organizationId: organization, data: [:]))
        fixture.clock.advance(by: 40 * 86_400)
        _ = try storage.sweepEvents(EventSchedule(retention: 30 * 86_400, expiryNotice: 7 * 86_400))
        return ([created.key.id, second.key.id], [created.secret, rotated.secret, second.secret])
    }

    @Test(arguments: Backend.withPooler) func everyRowOfTheOrganizationGoesAndOtherOrganizationsKeepTheirs(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let erased = try populate("org_a", fixture)
        let kept = try populate("org_b", fixture)
        // Events the retention keeps, of both.
        for organization in ["org_a", "org_b"] { _ = try fixture.create(fixture.newKey(organization: organization, name: "third")) }
        let keptRows = try rows(of: "org_b", fixture, keyIds: kept.keyIds)
        let erasedIds = try storage.keys(organizationId: "org_a", filter: .all, cursor: nil, limit: 100).keys.map(\.id)
        #expect(erasedIds.count == 3)
        let before = try rows(of: "org_a", fixture, keyIds: erasedIds)
        #expect(before.values.allSatisfy { $0 > 0 }, "the organization has rows in every table: \(before)")

        let erasure = try storage.eraseOrganization("org_a", actor: "admin_1")
        #expect(erasure == OrganizationErasure(keys: 3))

        var left = try rows(of: "org_a", fixture, keyIds: erasedIds)
        #expect(left.removeValue(forKey: "audit_entry") == 1 && left.removeValue(forKey: "outbox_event") == 1)
        #expect(left.values.allSatisfy { $0 == 0 }, "left: \(left)")
        #expect(try rows(of: "org_b", fixture, keyIds: kept.keyIds) == keptRows, "another organization keeps everything")

        for secret in erased.secrets { #expect(try fixture.found(secret) == nil, "no secret of the organization is found") }
        #expect(try fixture.found(kept.secrets[1]) != nil, "the other organization's current secret")
        #expect(try storage.subscription(organizationId: "org_a") == nil)
        #expect(try storage.readings(organizationId: "org_a", periods: [("api.requests", fixture.clock.now())]).allSatisfy {
            $0.used == 0
        })
        let log = try storage.auditLog(organizationId: "org_a", cursor: nil, limit: 100).entries
        #expect(log.map(\.action) == [.organizationErased] && log.first?.actor == "admin_1")
        #expect(log.first?.details == ["keys": .number("3")] && log.first?.keyId == nil)
        let events = try storage.events(organizationId: "org_a", after: nil, limit: 100)
        #expect(events.events.map(\.type) == [.organizationErased])
        #expect(events.events.first?.data == ["keys": .number("3")])
    }

    /// A reader of the organization's events with a cursor from before the
    /// erasure reads on to the erasure's event: what it missed is gone by
    /// the erasure, which that event says, not by the retention.
    @Test(arguments: Backend.available) func aReaderBehindTheErasureReadsItsEventNotAnExpiredCursor(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        _ = try fixture.create(fixture.newKey(name: "first"))
        _ = try fixture.create(fixture.newKey(name: "second"))
        let cursor = try #require(try storage.events(organizationId: "org_a", after: nil, limit: 1).nextCursor)
        fixture.clock.advance(by: 40 * 86_400)
        _ = try storage.sweepEvents(EventSchedule(retention: 30 * 86_400, expiryNotice: 7 * 86_400))
        #expect("before the erasure, the second event went unread") {
            _ = try storage.events(organizationId: "org_a", after: cursor, limit: 10)
        } throws: { ($0 as? KeyStoreError)?.code == .cursorExpired }
        _ = try storage.eraseOrganization("org_a", actor: nil)
        let page = try storage.events(organizationId: "org_a", after: cursor, limit: 10)
        #expect(page.events.map(\.type) == [.organizationErased])
    }

    /// Every process is told what the erasure deleted (each key, and the
    /// organization itself), and what a command after it in the same unit
    /// of work did.
    @Test(arguments: Backend.withPooler) func everyProcessIsToldWhatTheErasureAndACommandAfterItChanged(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let erased = try (0..<3).map { _ in try fixture.create(fixture.newKey(organization: "org_a")).key.id }
        let other = try fixture.create(fixture.newKey(organization: "org_b"))
        let before = try storage.changeToken()
        let outcomes = try #require(try storage.transaction { transaction in
            [
                (try? transaction.step { try $0.eraseOrganization("org_a", actor: nil) }) != nil,
                (try? transaction.step { try $0.delete(id: other.key.id, organizationId: "org_b", actor: nil) }) != nil,
            ]
        })
        #expect(outcomes == [true, true])
        let after = try storage.changeToken()
        let changes = try #require(try storage.changes(after: before.keys, through: after.keys))
        #expect(changes.keys == Set(erased + [other.key.id]))
        #expect(changes.organizations == ["org_a", "org_b"])
        #expect(changes.subscriptions == ["org_a"], "the organization itself changed, with no subscription stored")
        #expect(try fixture.found(other.secret) == nil)
    }

    /// Runs `command` in a transaction of `fixture`'s store held open while
    /// another host erases `org_a`, until the erasure has either ended or
    /// is seen waiting for a lock, then waits for the erasure: what the
    /// command answered, and how the erasure ended (`nil` if it had not
    /// after 10 s). Watched rather than slept on, so that an erasure that
    /// does not wait commits first, however slow the machine.
    private func erasingFromAnotherHost<T>(
        during fixture: StoreFixture, _ command: (any StorageTransaction) -> T
    ) throws -> (T?, Result<OrganizationErasure, KeyStoreError>?) {
        let other = try StoreFixture(.postgres, postgresURL: fixture.postgresURL)
        let erasure = Locked<Result<OrganizationErasure, KeyStoreError>?>(nil)
        let answer = try fixture.storage.transaction { transaction in
            let answer = command(transaction)
            let erasing = Thread {
                do throws(KeyStoreError) {
                    let erased = try other.storage.eraseOrganization("org_a", actor: nil)
                    erasure.withLock { $0 = .success(erased) }
                } catch {
                    erasure.withLock { $0 = .failure(error) }
                }
            }
            erasing.start()
            // This test's connections alone: their URL names its schema as the application.
            let waiting = """
                SELECT count(*) FROM pg_stat_activity
                WHERE wait_event_type = 'Lock' AND application_name = current_setting('application_name')
                """
            for _ in 0..<1_000 where erasure.withLock({ $0 }) == nil {
                if (try? PostgresKeyStorage.integer(waiting, url: fixture.postgresURL!)) ?? 0 > 0 { break }
                Thread.sleep(forTimeInterval: 0.01)
            }
            return answer
        }
        for _ in 0..<1_000 where erasure.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        return (answer, erasure.withLock { $0 })
    }

    /// On PostgreSQL an erasure waits for a creation of the organization
    /// under way on another host, and erases its key with the rest: none
    /// is left with its audit entry and event erased.
    @Test(.enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
    func anErasureWaitsForACreationUnderWayAndErasesItsKey() throws {
        let fixture = try StoreFixture(.postgres)
        let (created, erasure) = try erasingFromAnotherHost(during: fixture) { transaction in
            try? transaction.step { try $0.create(fixture.newKey(organization: "org_a"), limit: nil) }
        }
        let secret = try #require(created??.secret)
        #expect(try erasure?.get() == OrganizationErasure(keys: 1))
        #expect(try fixture.found(secret) == nil)
        #expect(try fixture.storage.auditLog(organizationId: "org_a", cursor: nil, limit: 10).entries.map(\.action)
                == [.organizationErased])
    }

    /// Counts a process took before it learned of an erasure (its change
    /// log position before the erasure's entry) are not written after it:
    /// the organization's request count does not come back. Counts taken
    /// after it learned of it (a key created since) are, and so are other
    /// organizations' in the same batch, and counts no cache took.
    @Test(arguments: Backend.available) func countsTakenBeforeAnErasureWasSeenAreNotWrittenAfterIt(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let now = fixture.clock.now()
        func requests(_ organization: String) throws -> Int? {
            let readings = try storage.readings(organizationId: organization, periods: [("api.requests", now)])
            return readings.first?.used
        }
        func flush(_ amounts: [String: Int], seen: Int64?, _ identity: String) throws {
            try storage.flush(usage: [], meters: amounts.sorted { $0.key < $1.key }.map {
                MeterIncrement(organizationId: $0.key, meter: "api.requests", periodStart: now, amount: $0.value, limit: 4)
            }, identity: identity, changesSeen: seen)
        }
        _ = try fixture.create(fixture.newKey(organization: "org_a"))
        let before = try storage.changeToken().keys
        try flush(["org_a": 3], seen: before, "first")
        #expect(try requests("org_a") == 3)

        #expect(try storage.eraseOrganization("org_a", actor: nil) == OrganizationErasure(keys: 1))
        try flush(["org_a": 5, "org_b": 2], seen: before, "taken-before")
        #expect(try requests("org_a") == 0)
        #expect(try requests("org_b") == 2)
        // Nor its quota threshold: 5 of 4 would have crossed both.
        #expect(try storage.events(organizationId: "org_a", after: nil, limit: 10).events.map(\.type) == [.organizationErased])

        let after = try storage.changeToken().keys
        try flush(["org_a": 1], seen: after, "taken-after")
        try flush(["org_a": 1], seen: nil, "taken-by-no-cache")
        #expect(try requests("org_a") == 2)
    }

    /// On PostgreSQL an erasure waits for a flush of meter counts under
    /// way on another host, and erases what it wrote: a flush that began
    /// before the erasure cannot see it, and would otherwise commit its
    /// counts after the erasure's deletions had passed them by.
    @Test(.enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
    func anErasureWaitsForAFlushUnderWayAndErasesWhatItWrote() throws {
        let fixture = try StoreFixture(.postgres)
        let now = fixture.clock.now()
        let seen = try fixture.storage.changeToken().keys
        let (_, erasure) = try erasingFromAnotherHost(during: fixture) { transaction in
            try? transaction.step {
                try $0.flush(usage: [], meters: [MeterIncrement(organizationId: "org_a", meter: "api.requests",
                                                                periodStart: now, amount: 3)],
                             identity: "under-way", changesSeen: seen)
            }
        }
        #expect(try erasure?.get() == OrganizationErasure(keys: 0))
        #expect(try fixture.storage.readings(organizationId: "org_a", periods: [("api.requests", now)]).first?.used == 0)
    }

    @Test(arguments: Backend.available) func anOrganizationWithNothingStoredIsErasedAllTheSame(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        #expect(try fixture.storage.eraseOrganization("org_new", actor: nil) == OrganizationErasure(keys: 0))
        let log = try fixture.storage.auditLog(organizationId: "org_new", cursor: nil, limit: 10).entries
        #expect(log.map(\.action) == [.organizationErased] && log.first?.actor == "system")
        // Erasing again erases what came since, the first erasure's record too.
        _ = try fixture.create(fixture.newKey(organization: "org_new"))
        #expect(try fixture.storage.eraseOrganization("org_new", actor: nil) == OrganizationErasure(keys: 1))
        #expect(try fixture.storage.auditLog(organizationId: "org_new", cursor: nil, limit: 10).entries.count == 1)
        #expect(try fixture.storage.events(organizationId: "org_new", after: nil, limit: 10).events.count == 1)
    }

    /// A bad organization id or actor is refused before anything is read,
    /// and nothing is erased.
    @Test(arguments: Backend.available) func aBadOrganizationIdOrActorErasesNothing(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let key = try fixture.create()
        for (organization, actor, code) in [("", nil, KeyStoreError.Code.invalidOrganizationId),
                                            (String(repeating: "o", count: 129), nil, .invalidOrganizationId),
                                            ("org_a", "", .invalidActor), ("org_a", "a\u{0}b", .invalidActor)] {
            #expect {
                _ = try fixture.storage.eraseOrganization(organization, actor: actor)
            } throws: { ($0 as? KeyStoreError)?.code == code }
        }
        #expect(try fixture.found(key.secret) != nil)
        #expect(try fixture.storage.auditLog(organizationId: "org_a", cursor: nil, limit: 10).entries.map(\.action) == [.keyCreated])
    }

    /// Keys' counts in the usage file beside a file database go once the
    /// erasure commits; another organization's keys keep theirs.
    @Test func theKeysCountsGoFromTheUsageFileToo() throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let fixture = try StoreFixture(database: try KeyDatabase.open(path: path))
        let erased = try fixture.create(fixture.newKey(organization: "org_a")).key.id
        let kept = try fixture.create(fixture.newKey(organization: "org_b")).key.id
        let now = fixture.clock.now()
        try fixture.storage.flush(
            usage: [erased, kept].map {
                UsageIncrement(keyId: $0, day: now, valid: 1, invalid: 0, lastUsedAt: now, capabilities: ["booking.read": 1])
            },
            meters: [], identity: "f1")

        _ = try fixture.storage.eraseOrganization("org_a", actor: nil)
        let usage = try DatabaseQueue(path: KeyDatabase.usagePath(for: path))
        let left = try usage.read { db in
            try ["key_usage_day", "key_usage_count"].map { table in
                try String.fetchAll(db, sql: "SELECT DISTINCT key_id FROM \(table)")
            }
        }
        #expect(left == [[kept], [kept]])
    }
}
