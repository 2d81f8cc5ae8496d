import Foundation
import KeyStore
@testable import KeygateService
import PlanCatalog
import KeygateTestSupport
import Testing

/// The verification cache forgets what changed and nothing else, and keeps
/// what is in use whatever a caller sends.
@Suite("The verification cache")
struct CacheTests {
    func reads(_ fixture: ServiceFixture) -> (keys: Int, organizations: Int, counts: Int) {
        fixture.service.verification.reads.withLock { $0 }
    }

    func verify(_ fixture: ServiceFixture, _ key: CreatedKey) throws -> VerifyOutcome {
        try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")).outcome
    }

    func verify(_ fixture: ServiceFixture, _ key: CreatedKey, from origin: String) throws -> VerifyOutcome {
        try fixture.service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read", origin: origin)).outcome
    }

    func verify(_ service: KeygateService, _ key: CreatedKey) throws -> VerifyOutcome {
        try service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")).outcome
    }

    /// Two services on one SQLite file, as two processes would be.
    func twoProcesses() throws -> (fixture: ServiceFixture, other: ServiceFixture) {
        let processes = try ServiceFixture.processes(2, backend: .sqlite)
        return (processes[0], processes[1])
    }

    @Test func aChangeForgetsWhatItChangedAndEverythingElseStays() throws {
        let (fixture, other) = try twoProcesses()
        try fixture.move("org_a", to: "pro")
        try fixture.move("org_b", to: "pro")
        let a1 = try fixture.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let a2 = try fixture.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let b = try fixture.create("org_b", kind: "owner_integration", capabilities: ["booking.read"])
        for key in [a1, a2, b] { #expect(try verify(fixture, key) == .valid) }
        let warm = reads(fixture)

        _ = try other.service.revokeKey(id: a1.key.record.id, organizationId: "org_a", actor: nil)
        #expect(try verify(fixture, a1) == .revoked)
        #expect(try verify(fixture, b) == .valid)
        #expect(try verify(fixture, a2) == .valid)
        let after = reads(fixture)
        // The revoked key and its organization are read again; org_b and its key are not.
        #expect(after.keys == warm.keys + 1 && after.organizations == warm.organizations + 1)

        // A plan change forgets the organization, not its keys.
        try other.service.setPlan(SetPlanRequest(organizationId: "org_b", plan: "free", eventId: "evt_other",
                                                 occurredAt: fixture.clock.now() + 60))
        #expect(try verify(fixture, b) == .planSuspended)
        #expect(reads(fixture).keys == after.keys && reads(fixture).organizations == after.organizations + 1)
    }

    /// A process that fell so far behind that the change log no longer
    /// reaches back to where it last read (65,536 changes later) forgets
    /// everything it held: a key revoked meanwhile is refused, and the
    /// keys that did not change are read again, not answered stale.
    @Test(arguments: Backend.available) func aProcessPastTheChangeLogsReachForgetsEverything(_ backend: Backend) throws {
        let processes = try ServiceFixture.processes(2, backend: backend)
        let (fixture, other) = (processes[0], processes[1])
        try fixture.move("org_a", to: "pro")
        let revoked = try fixture.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let kept = try fixture.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        for key in [revoked, kept] { #expect(try verify(fixture, key) == .valid) }
        let warm = reads(fixture).keys

        _ = try other.service.revokeKey(id: revoked.key.record.id, organizationId: "org_a", actor: nil)
        // The revocation is pruned from the log by the changes after it.
        try fixture.outrunChangeLog()
        #expect(try verify(fixture, revoked) == .revoked)
        #expect(try verify(fixture, kept) == .valid)
        #expect(reads(fixture).keys == warm + 2)
    }

    /// What `keys.update` changes that a verification reads (a key's
    /// allowed origins, its rate limit, its expiry) is what another process
    /// answers by at its very next verification, as for the revocations,
    /// rotations, capability changes and downgrades `MultiProcessTests`
    /// makes: the change log's trigger must name each column an update sets.
    @Test(arguments: Backend.available) func everyChangeAVerificationReadsReachesAnotherProcessAtOnce(_ backend: Backend) throws {
        let processes = try ServiceFixture.processes(2, backend: backend)
        let (admin, gateway) = (processes[0], processes[1])
        try admin.move("org_a", to: "pro")
        let key = try admin.create("org_a", kind: "owner_integration", capabilities: ["booking.read"], rateLimit: 100)
        func update(_ changes: KeyChanges) throws {
            _ = try admin.service.updateKey(id: key.key.record.id, organizationId: "org_a", changes: changes, actor: nil)
        }
        #expect(try verify(gateway, key, from: "https://a.example") == .valid)

        try update(KeyChanges(allowedOrigins: ["https://b.example"]))
        #expect(try verify(gateway, key, from: "https://a.example") == .originNotAllowed)

        // One a minute: a minute on, a verification takes the only one.
        try update(KeyChanges(rateLimit: 1))
        for process in processes { process.clock.advance(by: 60) }
        #expect(try verify(gateway, key, from: "https://b.example") == .valid)
        #expect(try verify(gateway, key, from: "https://b.example") == .rateLimited)

        try update(KeyChanges(expiresAt: admin.clock.now().addingTimeInterval(90)))
        for process in processes { process.clock.advance(by: 120) }
        #expect(try verify(gateway, key, from: "https://b.example") == .expired)
    }

    /// A process whose change watcher could not be opened (no file
    /// descriptor left, say) reads other processes' changes from the logs
    /// themselves: slower, and still never stale (it once took itself for
    /// a database in memory and saw only its own commits), and it says so.
    @Test func withoutItsChangeWatcherAProcessStillSeesEveryChange() throws {
        let path = try ScratchFolder.make("keygate-cache").appending(path: "k.sqlite").path
        let unwatched = try ServiceFixture(database: try KeyDatabase.open(path: path), watchesChanges: false)
        let other = try ServiceFixture(database: try KeyDatabase.open(path: path))
        try other.move("org_a", to: "pro")
        let key = try other.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        #expect(try verify(unwatched, key) == .valid)
        _ = try other.service.revokeKey(id: key.key.record.id, organizationId: "org_a", actor: nil)
        #expect(try verify(unwatched, key) == .revoked)
        let second = try other.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        #expect(try verify(unwatched, second) == .valid)
        try other.move("org_a", to: "free")
        #expect(try verify(unwatched, second) == .planSuspended)
        // And it says so, for its operator's log.
        #expect((unwatched.storage as? SQLiteKeyStorage)?.slowerReads
            == ["change watcher: every verification reads the change log in a transaction of its own"])
        #expect((other.storage as? SQLiteKeyStorage)?.slowerReads == [])
    }

    /// A rotated key in its grace period is held under both secrets; a
    /// change to it made elsewhere forgets both.
    @Test func bothSecretsOfARotatedKeyAreForgottenWhenItChanges() throws {
        let (fixture, other) = try twoProcesses()
        try fixture.move("org_a", to: "pro")
        let key = try fixture.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let next = try other.service.rotateKey(id: key.key.record.id, organizationId: "org_a",
                                               gracePeriodSeconds: 600, actor: nil)
        #expect(try verify(fixture, key) == .valid)
        #expect(try verify(fixture, next) == .valid)
        let warm = reads(fixture).keys
        #expect(try verify(fixture, key) == .valid && verify(fixture, next) == .valid)
        #expect(reads(fixture).keys == warm)

        _ = try other.service.revokeKey(id: key.key.record.id, organizationId: "org_a", actor: nil)
        #expect(try verify(fixture, next) == .revoked)
        #expect(try verify(fixture, key) == .revoked)
        #expect(reads(fixture).keys == warm + 2)
    }

    /// Earlier secrets stopped in another process are refused here at the
    /// very next verification, while the key's current secret and the
    /// keys that did not change are answered as before, unchanged ones
    /// from memory.
    @Test(arguments: Backend.available) func earlierSecretsStoppedElsewhereAreRefusedAtTheNextVerification(_ backend: Backend)
        throws
    {
        let processes = try ServiceFixture.processes(2, backend: backend)
        let (gateway, admin) = (processes[0], processes[1])
        try gateway.move("org_a", to: "pro")
        let key = try gateway.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let unchanged = try gateway.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let next = try admin.service.rotateKey(id: key.key.record.id, organizationId: "org_a", gracePeriodSeconds: 600, actor: nil)
        for secret in [key, next, unchanged] { #expect(try verify(gateway, secret) == .valid) }
        let warm = reads(gateway).keys

        _ = try admin.service.stopPreviousSecrets(id: key.key.record.id, organizationId: "org_a", actor: nil)
        #expect(try verify(gateway, key) == .notFound)
        #expect(try verify(gateway, next) == .valid)
        #expect(try verify(gateway, unchanged) == .valid)
        #expect(reads(gateway).keys == warm + 2)
    }

    /// With room for two keys, a third pushes out one of a rotated key's two
    /// secrets: the one left is still forgotten when the key changes
    /// elsewhere, whichever secret went and whichever was read first.
    @Test(arguments: [true, false]) func aRotatedKeysSecretLeftAfterAnEvictionIsForgottenWhenItChanges(oldFirst: Bool) throws {
        let (fixture, other) = try twoProcesses()
        try fixture.move("org_a", to: "pro")
        let key = try fixture.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let third = try fixture.create("org_a", kind: "owner_integration", capabilities: ["booking.read"])
        let next = try other.service.rotateKey(id: key.key.record.id, organizationId: "org_a",
                                               gracePeriodSeconds: 600, actor: nil)
        let service = KeygateService(catalog: fixture.catalog, storage: fixture.storage, clock: fixture.clock, cacheCapacity: 2)
        for secret in oldFirst ? [key, next] : [next, key] { #expect(try verify(service, secret) == .valid) }
        #expect(try verify(service, third) == .valid)
        #expect(service.verificationStatistics.cachedKeys == 2)

        _ = try other.service.revokeKey(id: key.key.record.id, organizationId: "org_a", actor: nil)
        #expect(try verify(service, key) == .revoked)
        #expect(try verify(service, next) == .revoked)
        #expect(try verify(service, third) == .valid)
    }

    /// A key's digests as the cache tracks them: the first removed hands its
    /// place to another, any other goes alone, and the last says so.
    @Test func aKeysDigestsLoseOnlyTheOneRemoved() throws {
        let (a, b, c) = (try #require(KeyDigest(bytes: Array(repeating: 1, count: 32))),
                         try #require(KeyDigest(bytes: Array(repeating: 2, count: 32))),
                         try #require(KeyDigest(bytes: Array(repeating: 3, count: 32))))
        var digests = KeyDigests(a)
        digests.insert(b)
        digests.insert(c)
        digests.insert(b)
        #expect(Array(digests) == [a, b, c])
        let (removedB, leftAfterB) = (digests.remove(b), Array(digests))
        #expect(removedB && leftAfterB == [a, c])
        let (removedA, leftAfterA) = (digests.remove(a), Array(digests))
        #expect(removedA && leftAfterA == [c])
        let removedLast = digests.remove(c)
        #expect(!removedLast)
    }

    /// Requests another process counted reach this one's quota through the
    /// rows its flushes moved, read once per flush, not through a read of
    /// each organization's count.
    @Test(arguments: Backend.available) func countsFlushedElsewhereReachTheQuotaHeldHere(_ backend: Backend) throws {
        let processes = try ServiceFixture.processes(2, catalog: "examples/link-platform.xml", backend: backend)
        let (here, elsewhere) = (processes[0], processes[1])
        try here.move(to: "free")  // 1,000 requests a day, 60 a minute
        let key = try here.create(kind: "workspace", capabilities: ["linksRead"])
        let request = VerifyRequest(key: key.secret.unredacted, capability: "linksRead")
        for _ in 0..<10 {
            here.clock.advance(by: 1)
            #expect(try here.service.verify(request).outcome == .valid)
        }
        try here.service.flushUsage()
        let warm = reads(here)

        elsewhere.clock.set(here.clock.now())
        for _ in 0..<990 {
            elsewhere.clock.advance(by: 1)
            #expect(try elsewhere.service.verify(request).outcome == .valid)
        }
        try elsewhere.service.flushUsage()

        here.clock.set(elsewhere.clock.now() + 1)
        let refused = try here.service.verify(request)
        #expect(refused.outcome == .quotaExceeded)
        #expect(refused.quota?.used == 1000)
        // Nothing of the organization was read again, its count included.
        let after = reads(here)
        #expect(after.keys == warm.keys && after.organizations == warm.organizations && after.counts == warm.counts)
    }

    @Test func aFloodOfMadeUpKeysDoesNotPushOutAKeyInUse() throws {
        let fixture = try ServiceFixture()
        try fixture.move(to: "pro")
        let hot = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"], rateLimit: 1000)
        // The same store and catalog, with small caches so the flood overflows them.
        let service = KeygateService(catalog: fixture.catalog, storage: fixture.storage, clock: fixture.clock,
                                     verification: VerificationState(capacity: 50, missCapacity: 100))
        let request = VerifyRequest(key: hot.secret.unredacted, capability: "booking.read")
        #expect(try service.verify(request).outcome == .valid)
        #expect(try service.verify(request).outcome == .valid)
        let warm = service.verification.reads.withLock { $0 }
        let format = KeyFormat(catalog: fixture.catalog)
        // Well-formed, valid checksums, no such keys: ten times what either cache holds.
        for round in 0..<1_000 {
            let madeUp = format.generate(environment: "live").unredacted
            #expect(try service.verify(VerifyRequest(key: madeUp, capability: "booking.read")).outcome == .notFound)
            if round % 10 == 0 { #expect(try service.verify(request).outcome == .valid) }
        }
        let flooded = service.verification.reads.withLock { $0 }
        #expect(flooded.keys == warm.keys + 1_000)
        #expect(try service.verify(request).outcome == .valid)
        #expect(service.verification.reads.withLock { $0 }.keys == flooded.keys)
    }

    /// What an operator reads to size the cache: verifications answered,
    /// the reads the cache could not spare, and what it holds.
    @Test func statisticsCountVerificationsAndTheReadsTheCacheCouldNotSpare() throws {
        let fixture = try ServiceFixture()
        try fixture.move(to: "pro")
        let key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        let service = KeygateService(catalog: fixture.catalog, storage: fixture.storage, clock: fixture.clock, cacheCapacity: 10)
        let request = VerifyRequest(key: key.secret.unredacted, capability: "booking.read")
        for _ in 0..<3 { #expect(try service.verify(request).outcome == .valid) }
        let madeUp = KeyFormat(catalog: fixture.catalog).generate(environment: "live").unredacted
        for _ in 0..<2 {
            #expect(try service.verify(VerifyRequest(key: madeUp, capability: "booking.read")).outcome == .notFound)
        }
        #expect(try service.verify(VerifyRequest(key: "not a key", capability: "booking.read")).outcome == .malformed)
        #expect(service.verificationStatistics == VerificationStatistics(
            verifications: 5, keyReads: 2, organizationReads: 1, countReads: 0, cachedKeys: 1, cachedOrganizations: 1,
            cacheCapacity: 10, knownMisses: 1))
    }

    /// The library's cache size is the caller's: with room for one key, two
    /// keys used in turn are read from the store every time; with the
    /// default, once each.
    @Test func theCacheHoldsAsManyKeysAsTheCallerAsks() throws {
        let fixture = try ServiceFixture()
        try fixture.move(to: "pro")
        let keys = try (0..<2).map { _ in try fixture.create(kind: "owner_integration", capabilities: ["booking.read"]) }
        func keyReads(_ service: KeygateService) throws -> Int {
            for _ in 0..<3 {
                for key in keys {
                    let request = VerifyRequest(key: key.secret.unredacted, capability: "booking.read")
                    #expect(try service.verify(request).outcome == .valid)
                }
            }
            return service.verification.reads.withLock { $0.keys }
        }
        #expect(try keyReads(KeygateService(catalog: fixture.catalog, storage: fixture.storage, clock: fixture.clock,
                                            cacheCapacity: 1)) == 6)
        #expect(try keyReads(KeygateService(catalog: fixture.catalog, storage: fixture.storage, clock: fixture.clock)) == 2)
    }

    final class Entry: ClockEntry {
        var referenced = false
        let name: Int
        init(_ name: Int) { self.name = name }
    }

    @Test func clockEvictionKeepsWhatIsUsedAndStaysBounded() {
        var cache = ClockCache<Int, Entry>(capacity: 100)
        for hot in 0..<10 {
            cache.insert(Entry(hot), for: hot)
            _ = cache.use(hot)
        }
        for cold in 1_000..<101_000 {
            cache.insert(Entry(cold), for: cold)
            // The hot ten are used between every few one-off inserts.
            if cold % 20 == 0 { for hot in 0..<10 { #expect(cache.use(hot)?.name == hot) } }
        }
        #expect(cache.count == 100)
        for hot in 0..<10 { #expect(cache.use(hot) != nil) }
        #expect(cache.remove(3)?.name == 3 && cache.use(3) == nil && cache.count == 99)
        cache.insert(Entry(3), for: 3)
        #expect(cache.count == 100 && cache.use(3)?.name == 3)
    }

    /// The hand reads marks from its ring: an entry replaced under its key
    /// is the one whose use counts, and the one handed back when evicted.
    @Test func aReplacedEntryIsTheOneTheHandSees() {
        var cache = ClockCache<Int, Entry>(capacity: 2)
        cache.insert(Entry(1), for: 1)
        cache.insert(Entry(2), for: 2)
        cache.insert(Entry(10), for: 1)
        _ = cache.use(1)
        let evicted = cache.insert(Entry(3), for: 3)
        #expect(evicted?.key == 2 && evicted?.value.name == 2)
        #expect(cache.use(1)?.name == 10 && cache.use(3)?.name == 3 && cache.count == 2)
        // Both marked: the hand clears both marks, then takes the first again.
        _ = cache.use(3)
        #expect(cache.insert(Entry(4), for: 4)?.value.name == 10)
    }
}

/// On PostgreSQL the keys of one pipelined read that memory lacks are
/// looked up together (one round trip); verification then finds them as
/// if it had read each itself, and a change still reaches it.
@Suite("Keys looked up together", .enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
struct PreparedVerificationTests {
    @Test func keysPreparedTogetherAreVerifiedWithoutAnotherRead() throws {
        let writer = try ServiceFixture(backend: .postgres)
        try writer.move(to: "pro")
        let keys = try (0..<4).map { _ in try writer.create(kind: "owner_integration", capabilities: ["booking.read"]) }
        let revoked = try writer.create(kind: "owner_integration", capabilities: ["booking.read"])
        _ = try writer.service.revokeKey(id: revoked.key.record.id, organizationId: "org_a", actor: nil)
        // A process of its own, nothing in memory yet.
        let fixture = try ServiceFixture(backend: .postgres, sharing: writer)
        let unknown = KeyFormat(catalog: fixture.catalog).generate(environment: "live").unredacted
        let secrets = keys.map(\.secret.unredacted) + [revoked.secret.unredacted, unknown, "not a key", keys[0].secret.unredacted]
        try fixture.service.prepareVerifications(of: secrets)
        let reads = { fixture.service.verification.reads.withLock { $0.keys } }
        // Four keys, the revoked one and the unknown one; the malformed one
        // and the repeated one are not read.
        #expect(reads() == 6)
        let outcomes = try secrets.map { try fixture.service.verify(VerifyRequest(key: $0, capability: "booking.read")).outcome }
        #expect(outcomes == [.valid, .valid, .valid, .valid, .revoked, .notFound, .malformed, .valid])
        #expect(reads() == 6)
        // A change after the look-up reaches the next verification.
        _ = try writer.service.revokeKey(id: keys[1].key.record.id, organizationId: "org_a", actor: nil)
        #expect(try fixture.service.verify(VerifyRequest(key: keys[1].secret.unredacted, capability: "booking.read")).outcome
            == .revoked)
    }

    /// The organizations of the keys a group lacks are read with them, each
    /// as a verification would read it (its plan, which keys are within
    /// the plan's maximum, its stored request count), so the verifications
    /// read nothing more; a plan change after it still reaches the next one.
    @Test func organizationsOfKeysPreparedTogetherAreReadWithThem() throws {
        let writer = try ServiceFixture(backend: .postgres)
        let organizations = ["org_a", "org_b", "org_c"]
        var secrets: [String] = []
        for (index, organization) in organizations.enumerated() {
            try writer.move(organization, to: "pro")
            let key = try writer.create(organization, kind: "owner_integration", capabilities: ["booking.read"])
            secrets.append(key.secret.unredacted)
            // Stored request counts of 0, 1 and 2.
            for _ in 0..<index { _ = try writer.service.verify(VerifyRequest(key: key.secret.unredacted)) }
        }
        try writer.service.flushUsage()
        let fixture = try ServiceFixture(backend: .postgres, sharing: writer)
        try fixture.service.prepareVerifications(of: secrets)
        let reads = { fixture.service.verification.reads.withLock { ($0.keys, $0.organizations, $0.counts) } }
        #expect(reads() == (3, 3, 0))
        let results = try secrets.map { try fixture.service.verify(VerifyRequest(key: $0, capability: "booking.read")) }
        #expect(results.map(\.outcome) == [.valid, .valid, .valid])
        #expect(results.map(\.organizationId) == organizations)
        #expect(results.map { $0.quota?.used } == [1, 2, 3])
        #expect(reads() == (3, 3, 0))
        // A change after the reads reaches the next verification.
        try writer.move("org_b", to: "free")
        #expect(try fixture.service.verify(VerifyRequest(key: secrets[1], capability: "booking.read")).outcome
            == .planSuspended)
    }

    /// Keys held whose reservations have ended (verified less than once a
    /// second) are reserved for together when a group is prepared, so
    /// their verifications wait for no reservation of their own; once
    /// every key has cells in hand, preparing reserves nothing more.
    @Test func heldKeysWithNothingInHandAreReservedForTogether() throws {
        let fixture = try ServiceFixture(backend: .postgres)
        try fixture.move(to: "pro")
        let secrets = try (0..<3).map { _ in
            try fixture.create(kind: "owner_integration", capabilities: ["booking.read"]).secret.unredacted
        }
        let limits = try #require(fixture.storage.rateLimits)
        func verify() throws -> [VerifyOutcome] {
            try secrets.map { try fixture.service.verify(VerifyRequest(key: $0, capability: "booking.read")).outcome }
        }
        // Each key read alone, with its first reservation.
        #expect(try verify() == [.valid, .valid, .valid])
        fixture.clock.advance(by: 2)
        let waited = limits.admissionsWaited
        try fixture.service.prepareVerifications(of: secrets)
        #expect(try verify() == [.valid, .valid, .valid])
        #expect(limits.admissionsWaited == waited)
        // Cells in hand: the next group's preparation reserves nothing, and rests.
        try fixture.service.prepareVerifications(of: secrets)
        #expect(fixture.service.verification.preparedLimitsAt.withLock { $0 } == waited)
        #expect(try verify() == [.valid, .valid, .valid])
        #expect(limits.admissionsWaited == waited)
        // Without a preparation, each verification reserves for itself.
        fixture.clock.advance(by: 2)
        #expect(try verify() == [.valid, .valid, .valid])
        #expect(limits.admissionsWaited == waited + 3)
    }

    /// Once a preparation finds every key held, the next ones cost nothing
    /// until a verification has to read a key itself; from then on the
    /// keys a group lacks are read together again.
    @Test func preparationRestsWhileEveryKeyIsHeld() throws {
        let writer = try ServiceFixture(backend: .postgres)
        try writer.move(to: "pro")
        let fixture = try ServiceFixture(backend: .postgres, sharing: writer)
        func keys(_ count: Int) throws -> [String] {
            try (0..<count).map { _ in try writer.create(kind: "owner_integration", capabilities: ["booking.read"]).secret.unredacted }
        }
        func verify(_ secrets: [String]) throws {
            for secret in secrets { _ = try fixture.service.verify(VerifyRequest(key: secret, capability: "booking.read")) }
        }
        let reads = { fixture.service.verification.reads.withLock { $0.keys } }
        let held = try keys(3)
        try fixture.service.prepareVerifications(of: held)
        try verify(held)
        #expect(reads() == 3)
        // Every key held: at rest from here.
        try fixture.service.prepareVerifications(of: held)
        let new = try keys(2)
        try fixture.service.prepareVerifications(of: held + new)
        #expect(reads() == 3)
        // The verifications read their keys themselves, one each…
        try verify(new)
        #expect(reads() == 5)
        // …and the next group's missing keys are read together again.
        let later = try keys(2)
        try fixture.service.prepareVerifications(of: held + later)
        #expect(reads() == 7)
        try verify(later)
        #expect(reads() == 7)
    }
}
