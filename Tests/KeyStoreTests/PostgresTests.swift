import Foundation
@testable import KeyStore
@testable import KeyStorePostgres
import KeygateTestSupport
import Locking
import Testing

/// What only the PostgreSQL store has to show: several hosts on one server.
/// Each "host" here is a store of its own (its own connections), as a
/// keygate on another machine would be. The behaviour both stores share is
/// tested once for both, in the other suites.
@Suite("PostgreSQL: several hosts, one server", .enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
struct PostgresTests {
    let rules = StoreFixture.rules

    @Test func hostsStartingTogetherMigrateOnce() throws {
        let url = try Backend.freshPostgresSchema()
        let failures = Locked([String]())
        DispatchQueue.concurrentPerform(iterations: 8) { _ in
            do {
                _ = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
            } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try PostgresKeyStorage.rows(in: "keygate_migration", url: url) == PostgresMigrator.latest)
    }

    /// A store opened with a libpq keyword/value string, as its
    /// documentation allows, reaches what the string names: here a schema
    /// of its own, named in a quoted `options` value, on the second of two
    /// hosts (nothing listens on port 1 of the first), as a failover pair
    /// is named.
    @Test func aKeywordValueStringReachesWhatItNames() throws {
        let url = try Backend.freshPostgresSchema()
        let parts = try #require(URLComponents(string: url))
        let setting = { (name: String) in parts.queryItems?.first { $0.name == name }?.value ?? "" }
        let host = parts.host ?? ""
        let keywords = "host=\(host),\(host) port=1,\(parts.port ?? 5432) user=\(parts.user ?? "")"
            + " dbname=\(parts.path.dropFirst()) options='\(setting("options"))' application_name=\(setting("application_name"))"
        _ = try PostgresKeyStorage(url: keywords, rules: rules, freshness: .strict)
        #expect(try PostgresKeyStorage.rows(in: "keygate_migration", url: url) == PostgresMigrator.latest)
        let schema = try PostgresKeyStorage.status(url: keywords, within: 60).schema
        guard case .current = schema else { Issue.record("status read \(schema) through the string"); return }
    }

    /// A statement prepared on a connection that its server session no
    /// longer has (what a pooler in transaction mode does to a store left
    /// in the session pool mode, played here by `DEALLOCATE ALL`): the
    /// error names the setting to change, and the connection is replaced.
    @Test func aStatementTheSessionLostNamesThePoolModeAndItsConnectionIsReplaced() throws {
        let pool = PGPool(conninfo: try Backend.freshPostgresSchema())
        try pool.withConnection { connection in _ = try connection.query("SELECT $1::int", [1]) }
        let lost = try pool.withConnection { connection -> PGError? in
            try connection.execute("DEALLOCATE ALL")
            do {
                _ = try connection.query("SELECT $1::int", [1])
                return nil
            } catch let error as PGError {
                return error
            }
        }
        #expect(lost?.sqlState == PGError.unknownStatement)
        let stored = lost.map { PostgresKeyStorage.storeError($0) }
        #expect(stored?.parameters["reason"] == "other")
        #expect(stored?.parameters["detail"]?.contains("use the transaction pool mode") == true)
        #expect(try pool.withConnection { connection in try connection.query("SELECT $1::int", [2]).int(0, 0) } == 2)
    }

    /// A program that embeds the store and asks for notified freshness
    /// behind a pooler in transaction mode is told at once, before any
    /// connection, what to ask for instead: LISTEN needs a session of its own.
    @Test func notifiedFreshnessBehindATransactionPoolerIsRefusedUpFront() throws {
        let nowhere = "postgresql://keygate@127.0.0.1:1/keygate"  // nothing listens there
        #expect {
            _ = try PostgresKeyStorage(url: nowhere, rules: rules, freshness: .notified(poll: 1), poolMode: .transaction)
        } throws: { error in
            let refusal = error as? KeyStoreError
            return refusal?.code == .storageFailure && refusal?.parameters["reason"] == "other"
                && refusal?.parameters["detail"]?.contains("use polled or strict") == true
        }
    }

    /// The change log keeps the last 65,536 events, whatever wrote them: a
    /// change of one key or subscription takes out the one position that
    /// left the window, a batch of imported secrets as many as it added.
    @Test func theChangeLogKeepsExactlyItsWindow() throws {
        let store = try StoreFixture(.postgres)
        let url = try #require(store.postgresURL)
        let issued = try store.create()
        // A full window of older events, as a long-lived database has.
        try PostgresKeyStorage.execute("""
            INSERT INTO change_event (seq, organization_id)
            SELECT (SELECT position FROM change_head) + g, 'org_x' FROM generate_series(1, 65536) g;
            UPDATE change_head SET position = position + 65536;
            DELETE FROM change_event WHERE seq <= (SELECT position FROM change_head) - 65536;
            """, url: url)
        func window() throws -> (events: Int, below: Int) {
            (try PostgresKeyStorage.rows(in: "change_event", url: url),
             try PostgresKeyStorage.rows(in: "change_event WHERE seq <= (SELECT position FROM change_head) - 65536", url: url))
        }
        #expect(try window() == (65536, 0))
        _ = try store.storage.revoke(id: issued.key.id, organizationId: "org_a", actor: nil)
        #expect(try window() == (65536, 0))
        let imported = try store.storage.importKeys((0..<3).map { ImportStoreTests.key("org_b", $0) }, limits: [:])
        #expect(imported.count == 3)
        #expect(try window() == (65536, 0))
        _ = try store.storage.apply(BillingEvent(eventId: "e1", organizationId: "org_b", plan: "pro", occurredAt: store.clock.now()))
        #expect(try window() == (65536, 0))
        // What is in the window still reads back.
        let token = try store.storage.changeToken()
        let changes = try #require(try store.storage.changes(after: token.keys - 5, through: token.keys))
        #expect(changes.organizations.contains("org_b"))
        // The billing event's, the only one naming no key.
        #expect(changes.subscriptions == ["org_b"])
    }

    /// Batches travel as array literals: every string comes back from the
    /// server as it went, quotes, backslashes, commas, braces and all.
    @Test func arrayLiteralsReachTheServerAsTheyWere() throws {
        let values: [String?] = ["plain", "with \"quotes\"", "back\\slash\\", "a,b", "{braces}", "", "NULL", nil, "zażółć 🔑",
                                 " spaced ", "\\\""]
        let pool = PGPool(conninfo: try Backend.freshPostgresSchema())
        let result = try pool.withConnection { connection in
            try connection.query("SELECT v FROM unnest($1::text[]) WITH ORDINALITY AS x (v, n) ORDER BY n",
                                 [.text(PostgresKeyStorage.textArray(values))])
        }
        #expect((0..<result.count).map { result.string($0, 0) } == values)
    }

    /// Text holding a NUL is refused before it is sent, alone or queued
    /// in a transaction: libpq would send only what comes before it, and
    /// the server store that. The connection goes on serving.
    @Test func textHoldingANulIsRefusedNotCutShort() throws {
        let pool = PGPool(conninfo: try Backend.freshPostgresSchema())
        try pool.withConnection { connection in
            #expect(throws: PGError.self) { try connection.query("SELECT $1::text", [.text("evt_1\u{0}a")]) }
            try connection.execute("BEGIN")
            connection.send("SELECT $1::text", [.text("a\u{0}b")])
            #expect(throws: PGError.self) { try connection.query("SELECT 1") }
            try connection.execute("ROLLBACK")
            #expect(try connection.query("SELECT $1::text", [.text("evt_1")]).string(0, 0) == "evt_1")
        }
    }

    /// Keygate's text is UTF-8 whatever client encoding the URL (or
    /// `PGCLIENTENCODING`) asks for. Asked for LATIN1, the server took
    /// each byte of `Łódź 🔑` for a character and stored 22 bytes of
    /// mojibake, which every other reader, and a host without the
    /// setting, saw as the name.
    @Test func textIsStoredAsUTF8WhateverClientEncodingIsAskedFor() throws {
        let url = try Backend.freshPostgresSchema()
        let storage = try PostgresKeyStorage(url: url + "&client_encoding=LATIN1", rules: rules, freshness: .strict)
        let name = "Łódź 🔑"
        let issued = try storage.create(NewKey(
            organizationId: "org_a", name: name, kind: "owner_integration", capabilities: ["booking.read"],
            environment: "live", rateLimit: 60, allowedOrigins: [], expiresAt: nil, actor: "user_1"))
        #expect(try storage.key(id: issued.key.id, organizationId: "org_a").name == name)
        let stored = try PGConnection(conninfo: url, prepares: false).query("SELECT name, octet_length(name) FROM api_key")
        #expect(stored.string(0, 0) == name && stored.int(0, 1) == name.utf8.count)
    }

    /// A database in an encoding that cannot hold every script (LATIN1,
    /// say) is refused when the store opens, saying what to use: it would
    /// have refused the first name with an emoji, as a storage failure.
    @Test func aDatabaseThatCannotHoldEveryScriptIsRefusedAtStart() throws {
        let base = try #require(Backend.postgresURL)
        var components = try #require(URLComponents(string: base))
        let database = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        try PostgresKeyStorage.execute(
            "CREATE DATABASE \(database) ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'", url: base)
        components.path = "/" + database
        let error = #expect(throws: KeyStoreError.self) {
            _ = try PostgresKeyStorage(url: components.string!, rules: rules, freshness: .strict)
        }
        #expect(error?.parameters["detail"]?.contains("encoding is LATIN1") == true, "\(String(describing: error))")
    }

    @Test func anOlderKeygateRefusesANewerSchemaWithAClearMessage() throws {
        let url = try Backend.freshPostgresSchema()
        _ = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        try PostgresKeyStorage.execute("INSERT INTO keygate_migration (version, name) VALUES (999, 'from the future')", url: url)
        let error = #expect(throws: KeyStoreError.self) {
            _ = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        }
        #expect(error?.code == .storageFailure)
        #expect(error?.parameters["detail"]?.contains("version 999, newer than this keygate") == true)
    }

    /// A migration that alters a table waits for every transaction that
    /// has read it, and every other session's query of that table waits
    /// behind the migration: a `pg_dump` (which reads every table in one
    /// transaction) or a `psql` session left open would stop every keygate
    /// process on the database for as long as it ran. The migration waits
    /// the lock timeout at most, then gives up whole, naming the session;
    /// once that has ended, the next try migrates.
    @Test func aMigrationBehindAnOpenTransactionGivesUpAndNamesIt() throws {
        let url = try Backend.freshPostgresSchema()
        // The latest migration that alters a table (one that only creates
        // a table waits for nobody).
        let altering = try #require(PostgresSchema.migrations.last { $0.sql.contains("ALTER TABLE") })
        let previous = altering.version - 1
        try PostgresKeyStorage.migrate(url: url, upTo: previous)
        let dump = try OpenTransaction("""
            DO $$ DECLARE t record; BEGIN
                FOR t IN SELECT tablename FROM pg_tables WHERE schemaname = current_schema() LOOP
                    EXECUTE format('LOCK TABLE %I IN ACCESS SHARE MODE', t.tablename);
                END LOOP;
            END $$
            """, url: url)
        let outcome = Locked<Result<SchemaMigration, KeyStoreError>?>(nil)
        let migrating = Thread {
            let result = Result { () throws(KeyStoreError) in try PostgresKeyStorage.migrate(url: url) }
            outcome.withLock { $0 = result }
        }
        migrating.start()
        // Bounded: a migration that waits for ever is let go after 20 s.
        for _ in 0..<2_000 where outcome.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        let finished = outcome.withLock { $0 }
        try dump.end()
        let result = try #require(finished, "the migration was still waiting after 20 s")
        let error = #expect(throws: KeyStoreError.self) { try result.get() }
        #expect(error?.code == .storageFailure)
        let detail = error?.parameters["detail"] ?? ""
        #expect(detail.hasPrefix("migration \(altering.version): \(altering.name) waited 5 s for a table held by pid \(dump.pid) "
            + "(user keygate, t_"), "\(detail)")
        #expect(detail.contains("idle in transaction for "), "\(detail)")
        #expect(detail.contains("nothing was migrated"), "\(detail)")

        let migrated = try PostgresKeyStorage.migrate(url: url)
        #expect(migrated.changed && migrated.before == PostgresMigrator.schema(at: previous), "\(migrated)")
    }

    @Test func twoHostsReceivingTheSameEventsAtOnceApplyEachOnce() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<2).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let applied = Locked([String: Int]())
        let base = Date(timeIntervalSince1970: 1_790_000_000)
        DispatchQueue.concurrentPerform(iterations: 2) { host in
            for index in 0..<40 {
                let event = BillingEvent(eventId: "evt_\(index)", organizationId: "org_a", plan: index % 2 == 0 ? "pro" : "starter",
                                         occurredAt: base.addingTimeInterval(TimeInterval(index)))
                if case .applied = try? hosts[host].apply(event) {
                    applied.withLock { $0["evt_\(index)", default: 0] += 1 }
                }
            }
        }
        #expect(applied.withLock { $0.values.allSatisfy { $0 == 1 } })
        #expect(try PostgresKeyStorage.rows(in: "billing_event", url: url) == 40)
        #expect(try hosts[0].subscription(organizationId: "org_a")?.plan == "starter")
    }

    /// Two hosts receiving one event id for two organizations at once (an
    /// id reused by mistake) take different organizations' turns, so
    /// neither waits for the other before looking the id up. The second
    /// answers as it would have a moment later, `event_id_reused`, not a
    /// storage failure; and if the first rolls back, the second applies.
    @Test(arguments: ["COMMIT", "ROLLBACK"]) func anEventIdReusedAtOnceOnAnotherHostIsToldAsReused(_ end: String) throws {
        let url = try Backend.freshPostgresSchema()
        let host = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let other = try PGConnection(conninfo: PostgresKeyStorage.conninfo(for: url), prepares: false)
        try other.execute("BEGIN")
        try other.query("""
            INSERT INTO billing_event (event_id, organization_id, occurred_at, received_at, outcome, plan)
            VALUES ('evt_race', 'org_a', 1790000000000, 1790000000000, 'applied', 'pro')
            """)
        let answer = Locked<Result<BillingOutcome, KeyStoreError>?>(nil)
        let delivery = Thread {
            let event = BillingEvent(eventId: "evt_race", organizationId: "org_b", plan: "pro",
                                     occurredAt: Date(timeIntervalSince1970: 1_790_000_000))
            let result = Result { () throws(KeyStoreError) in try host.apply(event) }
            answer.withLock { $0 = result }
        }
        delivery.start()
        // Until the delivery waits for this transaction: its look-up found
        // nothing, and its insert met this one's row (bounded: 10 s).
        let waiting = """
            SELECT count(*) FROM pg_locks WHERE NOT granted AND locktype = 'transactionid' AND transactionid =
                (SELECT transactionid FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'transactionid')
            """
        for _ in 0..<1_000 where try other.query(waiting).int(0, 0) == 0 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(try other.query(waiting).int(0, 0) == 1, "the delivery never waited for the other host's insert")
        try other.execute(end)
        for _ in 0..<1_000 where answer.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        let result = try #require(answer.withLock { $0 })
        if end == "COMMIT" {
            #expect(throws: KeyStoreError(.eventIdReused, field: "eventId", ["differs": "organizationId"])) { try result.get() }
            #expect(try host.subscription(organizationId: "org_b") == nil)
        } else {
            guard case .applied(let record) = try result.get() else {
                Issue.record("\(result)")
                return
            }
            #expect(record.plan == "pro" && record.organizationId == "org_b")
        }
        #expect(try PostgresKeyStorage.rows(in: "billing_event", url: url) == 1)
    }

    @Test func hostsCreatingKeysAtOnceNeverGoPastTheLimit() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<4).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let limit = LiveKeyLimit(maximum: 5, kinds: ["owner_integration"])
        let created = Locked(0)
        DispatchQueue.concurrentPerform(iterations: 4) { host in
            for index in 0..<5 {
                let key = NewKey(organizationId: "org_a", name: "k\(host)-\(index)", kind: "owner_integration",
                                 capabilities: ["booking.read"], environment: "live", rateLimit: 60)
                if (try? hosts[host].create(key, limit: limit)) != nil { created.withLock { $0 += 1 } }
            }
        }
        #expect(created.withLock { $0 } == 5)
        #expect(try hosts[0].liveKeyCount(organizationId: "org_a", kinds: ["owner_integration"]) == 5)
    }

    /// A creation under a key limit takes its organization's turn: held
    /// from another session, the turn keeps a creation from committing
    /// until it is let go. The race above shows what the turn prevents,
    /// when the hosts happen to collide; this shows it is taken, whatever
    /// the timing (a mutation that skipped it survived a run of the race).
    @Test func aCreationUnderALimitWaitsForItsOrganizationsTurn() throws {
        let url = try Backend.freshPostgresSchema()
        let host = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let holder = try PGConnection(conninfo: PostgresKeyStorage.conninfo(for: url), prepares: false)
        try holder.execute("BEGIN")
        try holder.query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", [.text("org_turns")])
        let created = Locked<Bool?>(nil)
        let creation = Thread {
            let key = NewKey(organizationId: "org_turns", name: "k", kind: "owner_integration", capabilities: ["booking.read"],
                             environment: "live", rateLimit: 60)
            let issued = try? host.create(key, limit: LiveKeyLimit(maximum: 5, kinds: ["owner_integration"]))
            created.withLock { $0 = issued != nil }
        }
        creation.start()
        Thread.sleep(forTimeInterval: 0.3)
        #expect(created.withLock { $0 } == nil, "a creation committed while its organization's turn was held elsewhere")
        try holder.execute("COMMIT")
        for _ in 0..<1_000 where created.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        #expect(created.withLock { $0 } == true)
    }

    /// A poller reading the outbox while four hosts write to it sees every
    /// event exactly in the order of the final log: none committed late
    /// behind its cursor (positions follow commit order, not insert order).
    @Test func aPollerNeverSkipsAnEventCommittedLate() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<4).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let reader = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let writing = Locked(true)
        let polled = Locked([String]())
        let poller = Thread {
            var cursor: String?
            // Bounded: the writers finish, then one last read to the end.
            for _ in 0..<100_000 {
                let stillWriting = writing.withLock { $0 }
                guard let page = try? reader.events(organizationId: nil, after: cursor, limit: 50) else { continue }
                polled.withLock { $0 += page.events.map(\.id) }
                cursor = page.nextCursor
                if !stillWriting, !page.hasMore { break }
            }
        }
        poller.start()
        DispatchQueue.concurrentPerform(iterations: 4) { host in
            for index in 0..<25 {
                let key = NewKey(organizationId: "org_\(host)", name: "k\(index)", kind: "owner_integration",
                                 capabilities: ["booking.read"], environment: "live", rateLimit: 60)
                _ = try? hosts[host].create(key, limit: nil)
            }
        }
        writing.withLock { $0 = false }
        while !poller.isFinished { Thread.sleep(forTimeInterval: 0.01) }
        var all: [String] = []
        var cursor: String?
        repeat {
            let page = try reader.events(organizationId: nil, after: cursor, limit: 200)
            all += page.events.map(\.id)
            cursor = page.nextCursor
            if !page.hasMore { break }
        } while true
        #expect(all.count == 100)
        #expect(polled.withLock { $0 } == all)
    }

    /// Notified freshness: a change committed by one host reaches another's
    /// change token without that host asking (LISTEN/NOTIFY).
    @Test func aChangeOnOneHostIsAnnouncedToAnother() throws {
        let url = try Backend.freshPostgresSchema()
        let listener = try PostgresKeyStorage(url: url, rules: rules, freshness: .notified(poll: 60))
        let writer = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let before = try listener.changeToken()
        let start = try writer.changeToken()
        let issued = try writer.create(NewKey(organizationId: "org_a", name: "k", kind: "owner_integration",
                                              capabilities: ["booking.read"], environment: "live", rateLimit: 60))
        // One event for the creation: its secret's, which names the key,
        // its organization and the digest.
        #expect(try writer.changeToken().keys - start.keys == 1)
        // Bounded: 500 looks 10 ms apart; a notification takes a millisecond or so.
        var after = before
        for _ in 0..<500 where after.keys == before.keys {
            usleep(10_000)
            after = try listener.changeToken()
        }
        #expect(after.keys > before.keys)
        let changes = try #require(try listener.changes(after: before.keys, through: after.keys))
        #expect(changes.keys.contains(issued.key.id))
        #expect(changes.digests.count == 1)
    }

    /// The server shows keygate's connections under its name, unless the
    /// URL names another (the tests' own URLs name their schema).
    @Test func theServerShowsKeygatesConnectionsUnderItsName() throws {
        let url = try Backend.freshPostgresSchema()
        let unnamed = url.replacingOccurrences(of: #"&application_name=[^&]*"#, with: "", options: .regularExpression)
        #expect(!unnamed.contains("application_name="))
        func name(_ url: String) throws -> String? {
            try PGConnection(conninfo: PostgresKeyStorage.conninfo(for: url), prepares: false)
                .query("SELECT current_setting('application_name')").string(0, 0)
        }
        #expect(try name(unnamed) == "keygate")
        #expect(try name(url) != "keygate", "an application name the URL gives is kept")
        let timeouts = PostgresKeyStorage.networkTimeouts(environment: ProcessInfo.processInfo.environment)
        #expect(PostgresKeyStorage.conninfo(for: "postgresql://db.internal/keygate")
            == "postgresql://db.internal/keygate?\(timeouts)&fallback_application_name=keygate&client_encoding=UTF8")
        // The URL's own parameters come after the timeouts: libpq takes the last.
        #expect(PostgresKeyStorage.conninfo(for: "postgresql://db.internal/keygate?connect_timeout=30")
            == "postgresql://db.internal/keygate?\(timeouts)&connect_timeout=30&fallback_application_name=keygate"
            + "&client_encoding=UTF8")
    }

    /// `PGCONNECT_TIMEOUT`, where set, is the connect timeout (a URL
    /// parameter would win over it); elsewhere 5 s.
    @Test func theConnectTimeoutIsTheEnvironmentsWhereItSetsOne() {
        #expect(PostgresKeyStorage.networkTimeouts(environment: [:]).hasPrefix("connect_timeout=5&tcp_user_timeout=5000&"))
        #expect(PostgresKeyStorage.networkTimeouts(environment: ["PGCONNECT_TIMEOUT": ""]).hasPrefix("connect_timeout=5&"))
        #expect(!PostgresKeyStorage.networkTimeouts(environment: ["PGCONNECT_TIMEOUT": "20"]).contains("connect_timeout"))
    }

    /// Three hosts verifying one key in turn admit together what GCRA
    /// admits one host seeing every request: a 60-a-minute key, 300 tries
    /// in 0.3 s, its burst of 60 and not one more.
    @Test func hostsTogetherAdmitNoMoreThanTheLimit() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<3).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let start = GCRA.microseconds(Date())
        var admitted = 0
        for round in 0..<300 {
            if case .allowed = hosts[round % 3].rateLimits!.admit(42, limit: 60, cost: 1, at: start + Int64(round) * 1_000) {
                admitted += 1
            }
        }
        #expect(admitted == 60)
    }

    /// A host whose clock runs a day ahead (or ran ahead, then was set
    /// back) leaves a key's time there: another host, on the right time,
    /// is refused for a cell, not for the day, and then admitted.
    @Test func aHostWhoseClockRanAheadCostsOthersACellNotTheDifference() throws {
        let url = try Backend.freshPostgresSchema()
        let ahead = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let onTime = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let now = GCRA.microseconds(Date())
        let day: Int64 = 86_400_000_000
        for step in 0..<100 { _ = ahead.rateLimits!.admit(42, limit: 60, cost: 1, at: now + day + Int64(step)) }
        guard case .limited(let retryAfter, _) = onTime.rateLimits!.admit(42, limit: 60, cost: 1, at: now) else {
            Issue.record("admitted with the key's minute taken")
            return
        }
        #expect(retryAfter == 1)
        if case .allowed = onTime.rateLimits!.admit(42, limit: 60, cost: 1, at: now + 1_000_001) {} else {
            Issue.record("refused a second later: the other host's clock still counts")
        }
    }

    /// The server's function tells another host's clock from a step back
    /// as GCRA does in process (`RateLimitClockTests`): a key's time up to
    /// a further minute ahead is honoured (the key waits the difference
    /// and a cell), and one past it was set by a clock since stepped back,
    /// so the key waits a cell, not the step.
    @Test(arguments: [(ahead: 50, wait: 51), (ahead: 61, wait: 1)])
    func aTimeJustPastTheToleranceIsAStepOnTheServerToo(ahead seconds: Int, wait: Int) throws {
        let url = try Backend.freshPostgresSchema()
        let ahead = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let onTime = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let now = GCRA.microseconds(Date())
        let then = now + Int64(seconds) * 1_000_000
        for _ in 0..<100 { _ = ahead.rateLimits!.admit(42, limit: 60, cost: 1, at: then) }
        guard case .limited(let retryAfter, _) = onTime.rateLimits!.admit(42, limit: 60, cost: 1, at: now) else {
            Issue.record("admitted with the key's minute taken")
            return
        }
        #expect(retryAfter == wait)
    }

    /// A busy key is reserved several cells at a time, and what the hosts
    /// admit together still stays within the limit.
    @Test func reservationsOfABusyKeyStayWithinItsLimit() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<3).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let start = GCRA.microseconds(Date())
        var admitted = 0
        // 3,000 tries over 3 s: the burst of 1,000 and 50 more (1,000 a minute).
        for round in 0..<3_000 {
            if case .allowed = hosts[round % 3].rateLimits!.admit(7, limit: 1_000, cost: 1, at: start + Int64(round) * 1_000) {
                admitted += 1
            }
        }
        #expect(admitted <= 1_050)
        #expect(admitted >= 1_000)
    }

    /// The keys of a pipelined read with nothing in hand are reserved for
    /// in one statement, each as its first admission would have reserved
    /// alone (or the cells its requests need, within the largest
    /// reservation), so the admissions that follow wait for nothing; a key
    /// with cells in hand is left as it is, and one whose reservation has
    /// ended is reserved for again.
    @Test func preparedKeysAreReservedForTogether() throws {
        let host = try PostgresKeyStorage(url: try Backend.freshPostgresSchema(), rules: rules, freshness: .strict)
        let limits = try #require(host.rateLimits)
        let now = GCRA.microseconds(Date())
        // 600 a minute: four cells, or what ten requests need (the largest reservation is 20).
        let demands = [RateDemand(tag: 11, limit: 600, count: 1), RateDemand(tag: 12, limit: 600, count: 10),
                       RateDemand(tag: 13, limit: 600, count: 50)]
        #expect(limits.prepare(demands, at: now) == 3)
        #expect(demands.map { host.reservations.cellsInHand($0.tag) } == [4, 10, 20])
        for demand in demands {
            guard case .allowed = limits.admit(demand.tag, limit: 600, cost: 1, at: now + 1_000) else {
                Issue.record("a prepared key was refused")
                return
            }
        }
        #expect(limits.admissionsWaited == 0)
        // Cells in hand: nothing to reserve.
        #expect(limits.prepare(demands, at: now + 2_000) == 0)
        // Past the reservations' second: reserved again.
        #expect(limits.prepare(demands, at: now + 1_500_000) == 3)
        #expect(demands.map { host.reservations.cellsInHand($0.tag) } == [4, 10, 20])
        #expect(limits.admissionsWaited == 0)
        // A key whose minute other hosts have used up: reserved for, none
        // granted, and then refused here until a cell is free, asking no
        // more of the server.
        try host.read { try $0.execute("INSERT INTO rate_limit (tag, arrival) VALUES (15, \(now + 60_000_000))") }
        #expect(limits.prepare([RateDemand(tag: 15, limit: 600, count: 1)], at: now) == 1)
        #expect(limits.prepare([RateDemand(tag: 15, limit: 600, count: 1)], at: now + 1_000) == 0)
        guard case .limited = limits.admit(15, limit: 600, cost: 1, at: now + 2_000) else {
            Issue.record("a key with no cell free was admitted")
            return
        }
        // Admitted alone, a key with nothing in hand waits for its own reservation.
        _ = limits.admit(14, limit: 600, cost: 1, at: now)
        #expect(limits.admissionsWaited == 1)
    }

    /// Prepared reservations keep a key's limit across hosts: three hosts
    /// preparing for several requests at a time and admitting one each
    /// admit no more than the burst plus what the time adds.
    @Test func preparedReservationsStayWithinTheLimitAcrossHosts() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<3).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let start = GCRA.microseconds(Date())
        var admitted = 0
        // 3,000 tries over 3 s of a 60-a-minute key: the burst of 60 and 3 more.
        for round in 0..<3_000 {
            let limits = try #require(hosts[round % 3].rateLimits)
            let now = start + Int64(round) * 1_000
            _ = limits.prepare([RateDemand(tag: 7, limit: 60, count: 5)], at: now)
            if case .allowed = limits.admit(7, limit: 60, cost: 1, at: now) { admitted += 1 }
        }
        #expect(admitted <= 63)
        #expect(admitted >= 60)
    }

    /// The server computes a key's rate-limit tag as every process does, so
    /// the reservation a key's read takes is the key's own.
    @Test func theServersTagOfAKeyIsTheOneEveryProcessComputes() throws {
        let host = try PostgresKeyStorage(url: try Backend.freshPostgresSchema(), rules: rules, freshness: .strict)
        for id in ["key_01JD4Z8Q2M3N4P5R6S7T8V9W0X", "a", "élan-ключ-鍵"] {
            let tag = try host.read { try $0.query("SELECT keygate_tag($1)", [.text(id)]).int64(0, 0) }
            #expect(tag == Int64(bitPattern: RateTag.of(keyId: id)))
        }
    }

    /// Reading a key on verification's miss takes its first reservation in
    /// the same statement, so the verification that follows has cells in
    /// hand; a key that cannot be admitted reserves nothing, and neither
    /// does a look-up for anything else.
    @Test func aKeysReadTakesItsFirstReservation() throws {
        let host = try PostgresKeyStorage(url: try Backend.freshPostgresSchema(), rules: rules, freshness: .strict)
        func key(_ name: String) throws -> IssuedKey {
            try host.create(NewKey(organizationId: "org_a", name: name, kind: "owner_integration",
                                   capabilities: ["booking.read"], environment: "live", rateLimit: 600), limit: nil)
        }
        let live = try key("live")
        let revoked = try key("revoked")
        _ = try host.revoke(id: revoked.key.id, organizationId: "org_a", actor: nil, reason: nil)
        // Looked up for anything else (a leak report, a quota read): no reservation.
        _ = try host.find(secret: live.secret.unredacted)
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: live.key.id)) == 0)
        _ = try host.find(digest: rules.format.parse(live.secret.unredacted).digest)
        _ = try host.find(digest: rules.format.parse(revoked.secret.unredacted).digest)
        // 600 a minute: a first reservation of four cells.
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: live.key.id)) == 4)
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: revoked.key.id)) == 0)
        guard case .allowed = host.rateLimits!.admit(RateTag.of(keyId: live.key.id), limit: 600, cost: 1,
                                                     at: GCRA.microseconds(Date())) else {
            Issue.record("a key read with its reservation was not admitted")
            return
        }
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: live.key.id)) == 3)
    }

    /// A pipelined read's misses looked up together answer as each looked
    /// up alone: found, revoked (found, no reservation), a rotated-out
    /// secret past its grace (not found), unknown, and one digest twice;
    /// each live key comes with its first reservation.
    @Test func keysLookedUpTogetherAnswerAsEachAlone() throws {
        let url = try Backend.freshPostgresSchema()
        let clock = ManualClock(Date())
        let host = try PostgresKeyStorage(url: url, rules: rules, clock: clock, freshness: .strict)
        func key(_ name: String) throws -> IssuedKey {
            try host.create(NewKey(organizationId: "org_a", name: name, kind: "owner_integration",
                                   capabilities: ["booking.read"], environment: "live", rateLimit: 600), limit: nil)
        }
        let live = try (0..<3).map { try key("live \($0)") }
        let revoked = try key("revoked")
        _ = try host.revoke(id: revoked.key.id, organizationId: "org_a", actor: nil, reason: nil)
        let rotated = try key("rotated")
        _ = try host.rotate(id: rotated.key.id, organizationId: "org_a", gracePeriodSeconds: 60, actor: nil)
        clock.advance(by: 61)
        let unknown = rules.format.generate(environment: "live")
        let secrets = [live[0].secret, revoked.secret, live[1].secret, rotated.secret, unknown, live[2].secret, live[0].secret]
        let digests = try secrets.map { try rules.format.parse($0.unredacted).digest }
        func described(_ lookup: KeyLookup) -> String {
            switch lookup {
            case .found(let match): "\(match.key.id) \(match.key.revokedAt == nil ? "live" : "revoked")"
            case .notFound: "not found"
            case .malformed: "malformed"
            }
        }
        let together = try host.find(digests: digests).map(described)
        #expect(together == [
            "\(live[0].key.id) live", "\(revoked.key.id) revoked", "\(live[1].key.id) live", "not found", "not found",
            "\(live[2].key.id) live", "\(live[0].key.id) live",
        ])
        // A second host reads each alone: the same answers.
        let other = try PostgresKeyStorage(url: url, rules: rules, clock: clock, freshness: .strict)
        #expect(try digests.map { try described(other.find(digest: $0)) } == together)
        for issued in live + [rotated] {
            // 600 a minute: a first reservation of four cells, once for the key asked for twice.
            let expected = issued.key.id == rotated.key.id ? 0 : 4
            #expect(host.reservations.cellsInHand(RateTag.of(keyId: issued.key.id)) == expected)
        }
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: revoked.key.id)) == 0)
    }

    /// A key whose two secrets (one in its rotation's grace) are read in
    /// one statement is reserved for once: the first of its rows brings
    /// the reservation, the other none, and the key's shared time moved by
    /// the cells in hand only.
    @Test func aKeyReadByTwoSecretsTogetherIsReservedForOnce() throws {
        let url = try Backend.freshPostgresSchema()
        let host = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let issued = try host.create(NewKey(organizationId: "org_a", name: "rotated", kind: "owner_integration",
                                            capabilities: ["booking.read"], environment: "live", rateLimit: 600), limit: nil)
        let rotated = try host.rotate(id: issued.key.id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        let other = try host.create(NewKey(organizationId: "org_a", name: "other", kind: "owner_integration",
                                           capabilities: ["booking.read"], environment: "live", rateLimit: 60), limit: nil)
        let digests = try [issued.secret, other.secret, rotated.secret].map { try rules.format.parse($0.unredacted).digest }
        let before = GCRA.microseconds(Date())
        let found = try host.find(digests: digests).map { lookup -> String? in
            if case .found(let match) = lookup { return match.key.id }
            return nil
        }
        #expect(found == [issued.key.id, other.key.id, issued.key.id])
        // 600 a minute: four cells of 100 ms; 60 a minute: two of a second.
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: issued.key.id)) == 4)
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: other.key.id)) == 2)
        let arrival = try host.read {
            try $0.query("SELECT arrival FROM rate_limit WHERE tag = $1",
                         [.integer(Int64(bitPattern: RateTag.of(keyId: issued.key.id)))]).int64(0, 0)
        }
        let after = GCRA.microseconds(Date())
        // The store reads its clock in whole milliseconds.
        let moved = try #require(arrival)
        #expect(moved >= before - 1_000 + 400_000 && moved <= after + 400_000, "\(before) \(moved) \(after)")
    }

    /// A server that answers reads but will not reserve (here a trigger
    /// refuses every write of the rate limits' table, as a server refusing
    /// writes would): the key is still found, and its verification is
    /// decided by the outage setting, as when reads took no reservation.
    @Test func aReadIsAnsweredWhenItsReservationCannotBeTaken() throws {
        let url = try Backend.freshPostgresSchema()
        let host = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict, rateLimitOutage: .local)
        let issued = try host.create(NewKey(organizationId: "org_a", name: "k", kind: "owner_integration",
                                            capabilities: ["booking.read"], environment: "live", rateLimit: 60), limit: nil)
        _ = try host.read { try $0.execute("""
            CREATE FUNCTION refuse_writes() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN
                RAISE EXCEPTION 'cannot execute INSERT in a read-only transaction';
            END;
            $$;
            CREATE TRIGGER refuse_writes BEFORE INSERT OR UPDATE ON rate_limit
                FOR EACH ROW EXECUTE FUNCTION refuse_writes();
            """) }
        guard case .found(let match) = try host.find(digest: rules.format.parse(issued.secret.unredacted).digest) else {
            Issue.record("a key not found because its reservation failed")
            return
        }
        #expect(match.key.id == issued.key.id)
        #expect(host.reservations.cellsInHand(RateTag.of(keyId: issued.key.id)) == 0)
        let now = GCRA.microseconds(Date())
        let admitted = (0..<61).filter { index in
            if case .allowed = host.rateLimits!.admit(RateTag.of(keyId: issued.key.id), limit: 60, cost: 1, at: now + Int64(index)) {
                return true
            }
            return false
        }.count
        // `local`: this process enforces the whole limit on its own.
        #expect(admitted == 60)
    }

    /// Three hosts reading a 60-a-minute key again and again (a miss every
    /// tenth verification) and verifying it in turn: the reservations the
    /// reads take count like any other, and together the hosts admit no
    /// more than the key's burst.
    @Test func reservationsTakenByReadsStayWithinTheLimit() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<3).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let issued = try hosts[0].create(NewKey(organizationId: "org_a", name: "shared", kind: "owner_integration",
                                                capabilities: ["booking.read"], environment: "live", rateLimit: 60), limit: nil)
        let tag = RateTag.of(keyId: issued.key.id)
        let digest = try rules.format.parse(issued.secret.unredacted).digest
        let start = GCRA.microseconds(Date())
        var admitted = 0
        for round in 0..<300 {
            let host = hosts[round % 3]
            if round % 10 < 3 { _ = try host.find(digest: digest) }
            if case .allowed = host.rateLimits!.admit(tag, limit: 60, cost: 1, at: start + Int64(round) * 1_000) {
                admitted += 1
            }
        }
        #expect(admitted <= 60)
        // Cells a host was given back after its reads are returned with its
        // next reservation; those still owed at the end are at most a few.
        #expect(admitted >= 54)
    }

    /// Three hosts, two threads each, verifying one busy key as fast as
    /// they can on the real clock: each host reserves the key's next cells
    /// ahead on its worker while its threads admit from the current ones,
    /// and together they admit no more than GCRA allows over the time run.
    @Test func hostsReservingAheadAtOnceStayWithinTheLimit() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<3).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        let limit = 600
        let counts = Locked((tries: 0, admitted: 0))
        let start = GCRA.microseconds(Date())
        DispatchQueue.concurrentPerform(iterations: 6) { thread in
            let limits = hosts[thread % 3].rateLimits!
            // A second and a half, at most 5,000 tries a thread.
            for _ in 0..<5_000 {
                let now = GCRA.microseconds(Date())
                guard now - start < 1_500_000 else { break }
                let allowed = if case .allowed = limits.admit(9, limit: limit, cost: 1, at: now) { true } else { false }
                counts.withLock {
                    $0.tries += 1
                    if allowed { $0.admitted += 1 }
                }
            }
        }
        let elapsed = GCRA.microseconds(Date()) - start
        let (tries, admitted) = counts.withLock { $0 }
        // The burst, a cell per tenth of a second since, and the one at the start.
        #expect(admitted <= limit + Int(elapsed * Int64(limit) / GCRA.minute) + 1)
        // Cells held unused by the three hosts are at most two reservations each.
        #expect(admitted >= min(tries, limit) - 3 * 2 * (limit / 30))
    }

    /// Four hosts reserving for the same 400 keys at once, each given
    /// them in its own order (tags of both signs, which the server sorts
    /// as signed), round after round: the statements lock the keys' rows in
    /// one order and wait for each other, so none is ended as a deadlock,
    /// and every host gets cells for every key each round.
    @Test func hostsReservingForManyOfTheSameKeysAtOnceNeverDeadlock() throws {
        let url = try Backend.freshPostgresSchema()
        let hosts = try (0..<4).map { _ in try PostgresKeyStorage(url: url, rules: rules, freshness: .strict) }
        var random = SeededRandom(seed: 28)
        let tags = (0..<400).map { _ in random.next() }
        #expect(tags.contains { Int64(bitPattern: $0) < 0 } && tags.contains { Int64(bitPattern: $0) > 0 })
        let orders = hosts.indices.map { _ in tags.shuffled(using: &random) }
        let start = GCRA.microseconds(Date())
        for round in 0..<5 {
            // Two seconds on each round: every reservation before has ended.
            let now = start + Int64(round) * 2_000_000
            let prepared = Locked([Int](repeating: 0, count: hosts.count))
            DispatchQueue.concurrentPerform(iterations: hosts.count) { host in
                let demands = orders[host].map { RateDemand(tag: $0, limit: 1_000, count: 1) }
                let count = hosts[host].rateLimits!.prepare(demands, at: now)
                prepared.withLock { $0[host] = count }
            }
            #expect(prepared.withLock { $0 } == [400, 400, 400, 400], "round \(round)")
            let without = hosts.map { host in tags.filter { host.reservations.cellsInHand($0) == 0 }.count }
            #expect(without == [0, 0, 0, 0], "round \(round): keys each host got no cells for")
        }
    }

    static let hour: Int64 = 3_600_000_000

    /// Keys quiet for an hour (a deleted key is one) have their rows
    /// forgotten, a step at a time; a key in use keeps its row; and a
    /// forgotten key is admitted as its row would have admitted it: its
    /// whole burst, then nothing, as a key never seen.
    @Test func quietKeysRowsAreForgottenAndTheirLimitsStayTheSame() throws {
        let url = try Backend.freshPostgresSchema()
        let host = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let limits = host.rateLimits!
        let now = GCRA.microseconds(Date())
        // Five keys whose bursts were used two hours ago, one using its burst now.
        for tag: UInt64 in 1...5 {
            for step in 0..<60 { _ = limits.admit(tag, limit: 60, cost: 1, at: now - 2 * Self.hour + Int64(step)) }
        }
        for step in 0..<60 { _ = limits.admit(6, limit: 60, cost: 1, at: now + Int64(step)) }
        #expect(try PostgresKeyStorage.rows(in: "rate_limit", url: url) == 6)

        var (forgotten, steps) = (0, 0)
        var cursor: Int64?
        repeat {
            let step = try host.forgetIdleRateLimits(before: now - Self.hour, after: cursor, entries: 2)
            (forgotten, cursor, steps) = (forgotten + step.forgotten, step.next, steps + 1)
        } while cursor != nil && steps < 10
        #expect(forgotten == 5)
        // Two rows a step: three steps of two, and one that finds the end.
        #expect(steps == 4)
        #expect(try PostgresKeyStorage.rows(in: "rate_limit", url: url) == 1)

        func admitted(_ tag: UInt64, at start: Int64) -> Int {
            (0..<61).filter { step in
                if case .allowed = limits.admit(tag, limit: 60, cost: 1, at: start + Int64(step)) { return true }
                return false
            }.count
        }
        let later = now + 1_000_000
        #expect(admitted(1, at: later) == 60, "a forgotten key has its whole burst, as its row gave it")
        #expect(admitted(7, at: later) == 60, "as a key never seen")
        #expect(admitted(6, at: later) == 1, "the key in use keeps its time: a second's cell since")
    }

    /// A row a reservation holds is not waited for: the pass leaves it for
    /// the next, and forgets the rest.
    @Test func aRowAReservationHoldsIsLeftForTheNextPass() throws {
        let url = try Backend.freshPostgresSchema()
        let host = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let other = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let now = GCRA.microseconds(Date())
        for tag: UInt64 in 1...2 { _ = host.rateLimits!.admit(tag, limit: 60, cost: 1, at: now - 2 * Self.hour) }
        try other.read { connection in
            try connection.execute("BEGIN")
            _ = try connection.query("SELECT arrival FROM rate_limit WHERE tag = 1 FOR UPDATE")
            let step = try host.forgetIdleRateLimits(before: now - Self.hour, after: nil, entries: 100)
            #expect(step == RateLimitSweep(forgotten: 1, next: nil))
            try connection.execute("ROLLBACK")
        }
        #expect(try PostgresKeyStorage.rows(in: "rate_limit", url: url) == 1)
        #expect(try host.forgetIdleRateLimits(before: now - Self.hour, after: nil, entries: 100).forgotten == 1)
    }

    /// The statements that reserve: this version's, and keygate_lease,
    /// which processes of schema 27 call during an upgrade.
    static let reservations: [(name: String, sql: String)] = [
        ("reserveOne", PostgresRateLimits.reserveOne),
        ("keygate_lease", "SELECT NULL, granted, arrival FROM keygate_lease($1, $2, $3, $4, $6, $5)"),
    ]

    /// The pass locks a quiet key's row, then deletes it. A reservation
    /// that came for the row in between, and waited for the lock, finds it
    /// gone: it makes the row again and records the cells it granted, so
    /// the next reservation finds them taken.
    @Test(arguments: reservations.map(\.name))
    func aReservationWaitingForARowThePassDeletesRecordsItsCells(statement: String) throws {
        let sql = try #require(Self.reservations.first { $0.name == statement }?.sql)
        let url = try Backend.freshPostgresSchema()
        let pass = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let reserving = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict)
        let now = GCRA.microseconds(Date())
        _ = reserving.rateLimits!.admit(1, limit: 60, cost: 1, at: now - 2 * Self.hour)
        let reserved = Locked<(granted: Int, arrival: Int64)?>(nil)
        let done = DispatchSemaphore(value: 0)
        try pass.read { connection in
            try connection.execute("BEGIN")
            _ = try connection.query("SELECT arrival FROM rate_limit WHERE tag = 1 FOR UPDATE")
            Thread {
                // Four cells of a 60-a-minute key, a second apart.
                let result = try? reserving.read { connection in
                    try connection.query(sql, [.integer(1), .integer(now), .integer(1_000_000), .of(4), .of(0), .of(1)])
                }
                reserved.withLock { $0 = result.map { ($0.int(0, 1) ?? 0, $0.int64(0, 2) ?? 0) } }
                done.signal()
            }.start()
            // Until the reservation waits for this transaction (10 s at most).
            for _ in 0..<1_000 {
                let waiting = try connection.query("""
                    SELECT count(*) FROM pg_locks WHERE NOT granted AND pg_backend_pid() = ANY (pg_blocking_pids(pid))
                    """).int(0, 0) ?? 0
                if waiting > 0 { break }
                usleep(10_000)
            }
            _ = try connection.query("DELETE FROM rate_limit WHERE tag = 1")
            try connection.execute("COMMIT")
        }
        #expect(done.wait(timeout: .now() + 30) == .success)
        let granted = try #require(reserved.withLock { $0 })
        #expect(granted.granted == 4)
        #expect(granted.arrival == now + 4_000_000)
        let row = try pass.read { try $0.query("SELECT arrival FROM rate_limit WHERE tag = 1").int64(0, 0) }
        #expect(row == now + 4_000_000, "the cells granted are recorded")
    }
}

/// A key's reservations on one host, step by step: the first, taken with
/// the key's read; when the next is asked for ahead, when it is used, and
/// what goes back.
@Suite("PostgreSQL: a key's reservations on one host")
struct ReservationAheadTests {
    typealias Lease = PostgresRateLimits.Lease
    let start: Int64 = 1_800_000_000_000_000
    /// 1,000 a minute: a cell every 60 ms, reservations up to 33 cells.
    let interval = GCRA.minute / 1_000

    /// Admits one request at `at`: allowed from the lease (and any
    /// reservation asked for ahead), or the reservation it must wait for.
    func admit(_ lease: inout Lease, limit: Int = 1_000, at: Int64) -> Lease.Local {
        lease.admit(7, 1, limit: limit, interval: GCRA.minute / Int64(limit), at: at)
    }

    /// Admits requests 1 through `last` microseconds after the first: the
    /// reservation they asked for ahead, if one did.
    func admitThrough(_ last: Int, _ lease: inout Lease) -> PostgresRateLimits.Ahead? {
        var ahead: PostgresRateLimits.Ahead?
        for step in 1...last {
            if case .decided(_, let asked?) = admit(&lease, at: start + Int64(step)) { ahead = asked }
        }
        return ahead
    }

    /// The reservation a request must wait for, `nil` if it was decided locally.
    func reservation(_ local: Lease.Local) -> (want: Int, giveBack: Int)? {
        if case .reserve(let want, let giveBack) = local { return (want, giveBack) }
        return nil
    }

    /// A lease that reserved `granted` cells at `start` for its first request.
    func leaseHolding(_ granted: Int) -> Lease {
        var lease = Lease()
        guard case .reserve(let want, let giveBack) = admit(&lease, at: start) else {
            Issue.record("a first request answered without the server")
            return lease
        }
        #expect(want == 4)
        #expect(giveBack == 0)
        _ = lease.receive(granted, arrival: start + Int64(granted) * interval, cost: 1, interval: interval, at: start)
        return lease
    }

    /// Reservations go to the server in tag order (signed, as the server
    /// orders them), ``PostgresRateLimits/batchLimit`` keys a statement,
    /// and a key asked for twice in a later statement: one statement
    /// cannot insert or update a row twice.
    @Test func reservationsAreSentInTagOrderEachKeyOnceAStatement() {
        func ahead(_ tag: UInt64, want: Int = 1) -> PostgresRateLimits.Ahead {
            PostgresRateLimits.Ahead(tag: tag, now: start, interval: interval, want: want, giveBack: 0, generation: 0)
        }
        let negative = UInt64(bitPattern: -5)
        let small = PostgresRateLimits.statements(for: [ahead(9), ahead(3), ahead(negative), ahead(3, want: 2), ahead(9),
                                                        ahead(3, want: 3)])
        #expect(small.map { $0.map(\.tag) } == [[negative, 3, 9], [3, 9], [3]])
        #expect(small.flatMap { $0 }.filter { $0.tag == 3 }.map(\.want).sorted() == [1, 2, 3])
        let many = PostgresRateLimits.statements(for: (0..<1_201).map { ahead(UInt64($0)) } + [ahead(7)])
        #expect(many.map(\.count) == [500, 500, 201, 1])
        #expect(many.flatMap { $0 }.count == 1_202)
        #expect(many.allSatisfy { batch in Set(batch.map(\.tag)).count == batch.count })
        #expect(PostgresRateLimits.statements(for: []).isEmpty)
    }

    @Test func halfwayThroughABusyKeysReservationTheNextIsAskedForOnce() throws {
        var lease = leaseHolding(4)
        var asked: [PostgresRateLimits.Ahead] = []
        for step in 1...3 {
            guard case .decided(.allowed, let ahead) = admit(&lease, at: start + Int64(step)) else {
                Issue.record("request \(step) of four reserved cells not admitted locally")
                return
            }
            if let ahead { asked.append(ahead) }
        }
        // Asked for when two of four were used, sized by that demand, and only once.
        #expect(asked.count == 1)
        #expect(asked.first?.want == 8)
        #expect(asked.first?.now == start + 1)
        lease.receive(ahead: asked[0], granted: 8, arrival: start + 12 * interval)
        // The current reservation is used up: the next eight come from the one
        // reserved ahead, without waiting for the server.
        for step in 4...11 {
            guard case .decided(.allowed, _) = admit(&lease, at: start + Int64(step)) else {
                Issue.record("request \(step) waited for the server with cells reserved ahead")
                return
            }
        }
        _ = try #require(reservation(admit(&lease, at: start + 12)), "admitted past every cell reserved")
    }

    @Test func aReservationAheadEndsASecondAfterItWasTakenAndItsCellsGoBack() throws {
        var lease = leaseHolding(4)
        let ahead = try #require(admitThrough(2, &lease), "nothing asked for ahead")
        lease.receive(ahead: ahead, granted: 8, arrival: start + 12 * interval)
        // A second after it was asked for, neither reservation may be used:
        // the next request waits for a new one, which gives back the current
        // reservation's one cell left and the eight reserved ahead.
        let giveBack = try #require(reservation(admit(&lease, at: ahead.now + PostgresRateLimits.leaseLifetime)), "admitted from a reservation past its second").giveBack
        #expect(giveBack == 9)
    }

    @Test func aReservationAheadThatGotNothingRefusesLocallyWhenTheCurrentRunsOut() throws {
        var lease = leaseHolding(4)
        let ahead = try #require(admitThrough(3, &lease), "nothing asked for ahead")
        // Others took the key's whole minute: the next cell is free in 60 ms.
        let arrival = start + GCRA.minute + interval
        lease.receive(ahead: ahead, granted: 0, arrival: arrival)
        guard case .decided(.limited(let retryAfter, _), _) = admit(&lease, at: start + 4) else {
            Issue.record("asked the server again, or admitted, with no cell to be had")
            return
        }
        #expect(retryAfter == 1)
        _ = try #require(reservation(admit(&lease, at: arrival - GCRA.minute + interval)), "refused past the moment a cell could be free")
    }

    @Test func aReservationAheadUnderALimitTheKeyNoLongerHasIsNotUsed() throws {
        var lease = leaseHolding(4)
        let ahead = try #require(admitThrough(2, &lease), "nothing asked for ahead")
        // The plan changed to 60 a minute before the reservation came back.
        let giveBack = try #require(reservation(admit(&lease, limit: 60, at: start + 3)), "admitted under the new limit from cells reserved under the old").giveBack
        // The cell left, 60 ms of the old limit, is worth nothing of the new one's second.
        #expect(giveBack == 0)
        _ = lease.receive(1, arrival: start + 1_000_000, cost: 1, interval: GCRA.minute / 60, at: start + 3)
        lease.receive(ahead: ahead, granted: 33, arrival: start + 45 * interval)
        // The 33 fast cells are not admitted as slow ones: the next request
        // waits for a reservation, giving back what they are worth (1.98 s).
        let returned = try #require(reservation(admit(&lease, limit: 60, at: start + 4)), "admitted from a reservation made under the old limit").giveBack
        #expect(returned == 1)
    }

    @Test func aLeaseIsForgottenOnlyWithNothingInHandOrOnItsWay() throws {
        var lease = Lease()
        _ = try #require(reservation(admit(&lease, at: start)), "a first request answered without the server")
        // However long the server takes, the reservation must find its lease.
        #expect(!lease.isQuiet(at: start + 10 * PostgresRateLimits.leaseLifetime))
        _ = lease.receive(4, arrival: start + 4 * interval, cost: 1, interval: interval, at: start)
        #expect(!lease.isQuiet(at: start + 1))
        #expect(lease.isQuiet(at: start + PostgresRateLimits.leaseLifetime))
        #expect(admitThrough(3, &lease) != nil)
        #expect(!lease.isQuiet(at: start + 10 * PostgresRateLimits.leaseLifetime))
    }

    @Test func aReservationMadeUnderAnOldLimitAnswersItsRequestAndTheRestGoesBack() throws {
        var lease = Lease()
        _ = try #require(reservation(admit(&lease, at: start)), "a first request answered without the server")
        // While it is on its way, the key's limit becomes 60 a minute and a
        // request under the new limit waits for a reservation of its own.
        _ = try #require(reservation(admit(&lease, limit: 60, at: start + 1)), "admitted under the new limit with nothing reserved under it")
        guard case .allowed = lease.receive(33, arrival: start + 33 * interval, cost: 1, interval: interval, at: start) else {
            Issue.record("a request refused with its reservation granted")
            return
        }
        // The 32 cells left are 1.92 s: one cell of the new limit goes back.
        #expect(lease.owed == 1)
        guard case .allowed = lease.receive(1, arrival: start + 2_000_000, cost: 1, interval: GCRA.minute / 60, at: start + 1) else {
            Issue.record("the new limit's request refused with its cell granted")
            return
        }
        #expect(lease.isQuiet(at: start + 1 + PostgresRateLimits.leaseLifetime))
    }

    @Test func aReadsReservationUnderTheKeysOwnLimitGoesBackWhenThePlanHoldsItLower() throws {
        var lease = Lease()
        // The key asks for 1,000 a minute; its organization's plan allows 60.
        lease.deposit(33, arrival: start + 33 * interval, interval: interval, at: start)
        let giveBack = try #require(reservation(admit(&lease, limit: 60, at: start + 1)), "admitted under the plan's limit from cells reserved under the key's").giveBack
        // 33 cells of 60 ms are 1.98 s: one cell of the plan's limit.
        #expect(giveBack == 1)
    }

    @Test func aReadThatGotNoCellRefusesLocallyUntilOneCouldBeFree() throws {
        var lease = Lease()
        // Others took the key's whole minute: the next cell is free in 60 ms.
        let arrival = start + GCRA.minute + interval
        lease.deposit(0, arrival: arrival, interval: interval, at: start)
        guard case .decided(.limited, _) = admit(&lease, at: start + 1) else {
            Issue.record("asked the server again, or admitted, with no cell to be had")
            return
        }
        _ = try #require(reservation(admit(&lease, at: start + 2 * interval)), "refused past the moment a cell could be free")
    }

    /// A refusal learnt before the clock was stepped back is reckoned on
    /// the old clock: after the step the next request asks the server
    /// again rather than being refused locally for the step's length.
    @Test func aLocalRefusalDoesNotOutliveAStepBackOfTheClock() throws {
        var lease = Lease()
        let day: Int64 = 86_400_000_000
        lease.deposit(0, arrival: start + day + GCRA.minute + interval, interval: interval, at: start + day)
        guard case .decided(.limited, _) = admit(&lease, at: start + day + 1) else {
            Issue.record("asked the server again with no cell to be had")
            return
        }
        #expect(!lease.isQuiet(at: start + day + 1))
        _ = try #require(reservation(admit(&lease, at: start)), "refused for the length of the step")
        lease = Lease()
        lease.deposit(0, arrival: start + day + GCRA.minute + interval, interval: interval, at: start + day)
        #expect(lease.isQuiet(at: start), "a lease blocked on the old clock is forgotten after the step")
    }

    @Test func aReadsReservationWhileCellsAreInHandGoesBackWithTheNext() {
        var lease = leaseHolding(4)
        lease.deposit(2, arrival: start + 6 * interval, interval: interval, at: start + 1)
        #expect(lease.cells == 3)
        // The next reservation, here the one asked for ahead, gives them back.
        #expect(admitThrough(3, &lease)?.giveBack == 2)
    }

    @Test func aKeyUnderTwoCellsASecondIsNeverReservedAhead() {
        var lease = Lease()
        var now = start
        for _ in 0..<200 {
            now += 100_000
            switch admit(&lease, limit: 60, at: now) {
            case .decided(_, let ahead):
                #expect(ahead == nil)
            case .reserve(let want, _):
                #expect(want <= 2)
                _ = lease.receive(want, arrival: now + Int64(want) * 1_000_000, cost: 1, interval: 1_000_000, at: now)
            }
        }
    }

    @Test func aFailedReservationAheadGivesItsCellsBackWithTheNext() throws {
        var lease = leaseHolding(4)
        // One cell of an earlier reservation was still to go back; the
        // reservation ahead that was to take it failed (the server away).
        lease.owed = 1
        let ahead = admitThrough(3, &lease)
        #expect(ahead?.giveBack == 1)
        lease.receive(ahead: ahead!, granted: nil, arrival: start)
        let giveBack = try #require(reservation(admit(&lease, at: start + 4)), "admitted with nothing reserved").giveBack
        #expect(giveBack == 1)
    }
}

/// A connection string's password, wherever it could surface.
/// A server that cannot be reached, without a PostgreSQL server at all.
@Suite("PostgreSQL: a server out of reach")
struct UnreachableServerTests {
    /// Once connecting fails, calls fail at once with that failure, and
    /// one thread tries again in the background, pausing longer each time
    /// (a quarter of a second, then up to 2 s). Each call used to connect
    /// (twice for a read) and wait on its own: for a server gone silent,
    /// the connect timeout every time, and `keygate serve`, which answers
    /// in order, held every verification behind each such call, those of
    /// keys in memory too.
    @Test func callsWhileConnectingFailsFailAtOnceAndOneThreadTriesAgain() throws {
        let server = try SilentServer(.hangUp)
        defer { server.stop() }
        let pool = PGPool(conninfo: PostgresKeyStorage.conninfo(for: server.url))
        for _ in 0..<20 {
            let error = #expect(throws: PGError.self) { try pool.read { try $0.query("SELECT 1") } }
            #expect(error?.connectionLost == true && error?.message.contains("server closed the connection") == true,
                    "\(String(describing: error))")
        }
        #expect(server.accepted < 4, "\(server.accepted) connections for 20 calls")
        // The thread in the background goes on trying. Bounded: 10 s.
        for _ in 0..<1_000 where server.accepted < 3 { Thread.sleep(forTimeInterval: 0.01) }
        #expect(server.accepted >= 3)
    }
}

@Suite("PostgreSQL: passwords stay secret")
struct PostgresSecretTests {
    @Test func aPasswordIsRedactedFromTheURLAndAbsentFromErrors() throws {
        #expect(PostgresKeyStorage.redacted("postgresql://keygate:s3cret@db.internal:5432/keygate")
            == "postgresql://keygate:***@db.internal:5432/keygate")
        #expect(PostgresKeyStorage.redacted("postgresql://db.internal/keygate?user=k&password=s3cret&sslmode=require")
            == "postgresql://db.internal/keygate?user=k&password=***&sslmode=require")
        #expect(PostgresKeyStorage.redacted("postgresql://db.internal/keygate") == "postgresql://db.internal/keygate")
        // Nothing listens on port 1: the connection fails, and says why without the password.
        let error = #expect(throws: KeyStoreError.self) {
            _ = try PostgresKeyStorage(url: "postgresql://keygate:s3cret-pass@127.0.0.1:1/keygate?connect_timeout=2",
                                       rules: StoreFixture.rules)
        }
        #expect(error?.parameters["reason"] == "unreachable")
        #expect(!"\(String(describing: error))".contains("s3cret-pass"))
    }

    /// A libpq keyword/value string, as psql takes it, becomes the URL that
    /// says the same, each setting a parameter: quoted values unquoted and
    /// percent-encoded, so that the URL's redaction hides its password.
    @Test func aKeywordValueStringBecomesTheURLThatSaysTheSame() throws {
        #expect(PostgresKeyStorage.url(fromKeywords: "host=db.internal dbname=keygate")
            == "postgresql://?dbname=keygate&host=db.internal")
        #expect(PostgresKeyStorage.url(fromKeywords: "host=/run/postgresql") == "postgresql://?host=%2Frun%2Fpostgresql")
        // Several hosts, the first that takes writes (a failover pair).
        #expect(PostgresKeyStorage.url(fromKeywords: "host=db1,db2 port=5432,5433 target_session_attrs=read-write")
            == "postgresql://?host=db1%2Cdb2&port=5432%2C5433&target_session_attrs=read-write")
        let quoted = try #require(PostgresKeyStorage.url(
            fromKeywords: #" host = /run/postgresql  user=kg password='s3 c\'r=t&é' sslmode=require host=db"#))
        #expect(quoted == "postgresql://?user=kg&password=s3%20c%27r%3Dt%26%C3%A9&host=db&sslmode=require")
        #expect(PostgresKeyStorage.redacted(quoted) == "postgresql://?user=kg&password=***&host=db&sslmode=require")
        #expect(PostgresKeyStorage.redacted("host=db password=s3cret") == "postgresql://?password=***&host=db")
        let timeouts = PostgresKeyStorage.networkTimeouts(environment: ProcessInfo.processInfo.environment)
        #expect(PostgresKeyStorage.conninfo(for: "host=db dbname=keygate connect_timeout=30")
            == "postgresql://?\(timeouts)&connect_timeout=30&dbname=keygate&host=db&fallback_application_name=keygate"
            + "&client_encoding=UTF8")
        for unreadable in ["host=db dbname='keygate", "hots=db", "host=db dbname", "postgresql://db/keygate"] {
            #expect(PostgresKeyStorage.url(fromKeywords: unreadable) == nil, "\(unreadable)")
        }
    }
}

/// What rate limits do while the server cannot be reached, as configured.
@Suite("PostgreSQL: rate limits while the server is away")
struct PostgresOutageTests {
    /// Nothing listens on port 1: every reservation fails at once.
    static let nowhere = "postgresql://keygate@127.0.0.1:1/keygate?connect_timeout=2"

    @Test func refuseRefusesEveryVerificationThatReachesTheLimiter() {
        let limits = PostgresRateLimits(pool: PGPool(conninfo: Self.nowhere), outage: .refuse)
        let now = GCRA.microseconds(Date())
        guard case .limited(let retryAfter, _) = limits.admit(1, limit: 60, cost: 1, at: now) else {
            Issue.record("admitted while the server was away")
            return
        }
        #expect(retryAfter == 1)
    }

    @Test func localEnforcesTheWholeLimitInThisProcess() {
        let limits = PostgresRateLimits(pool: PGPool(conninfo: Self.nowhere), outage: .local)
        let now = GCRA.microseconds(Date())
        let admitted = (0..<100).filter { index in
            if case .allowed = limits.admit(1, limit: 60, cost: 1, at: now + Int64(index)) { return true }
            return false
        }.count
        #expect(admitted == 60)
    }

    /// A process verifying key after key keeps what it knows of the keys in
    /// use now, not of every key it ever verified: leases and the outage's
    /// arrival times of keys gone quiet are forgotten, and a forgotten key
    /// is at its full allowance, as it would have been.
    @Test func whatQuietKeysLeftBehindIsForgotten() {
        let limits = PostgresRateLimits(pool: PGPool(conninfo: Self.nowhere), outage: .local, sweepFloor: 100)
        let start = GCRA.microseconds(Date())
        // 2,000 keys at 60 a minute, one verification each, 10 ms apart:
        // each key's time passes a second after its verification.
        for key in 0..<2_000 {
            _ = limits.admit(UInt64(key), limit: 60, cost: 1, at: start + Int64(key) * 10_000)
        }
        let (leases, outage) = limits.counts
        #expect(leases <= 100)
        // The last second's hundred keys, and as many again before the next sweep.
        #expect(outage <= 200)
        let later = start + 2_000 * 10_000
        let admitted = (0..<61).filter { index in
            if case .allowed = limits.admit(0, limit: 60, cost: 1, at: later + Int64(index)) { return true }
            return false
        }.count
        #expect(admitted == 60)
    }
}
