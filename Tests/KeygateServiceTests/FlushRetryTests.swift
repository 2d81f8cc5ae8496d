import Foundation
import KeyStore
@testable import KeygateService
import Locking
import PlanCatalog
import Testing

/// A store whose next flush commits and then reports a failure, as a
/// server that committed and went away before answering would.
struct LostAcknowledgement: KeygateStorage {
    let base: any KeygateStorage
    let loseNext = Locked(false)
    /// Flush calls to let through before one is refused outright (nothing
    /// written, as a full disk would), `nil` for none.
    let refuseAfter = Locked<Int?>(nil)
    /// What the database's probe throws while set, as a server gone away would.
    let probeFailure = Locked<KeyStoreError?>(nil)
    /// What reading the change token throws while set.
    let tokenFailure = Locked<KeyStoreError?>(nil)
    /// Set as the next flush commits: the server goes away just after.
    let tokenFailureAfterNextFlush = Locked<KeyStoreError?>(nil)

    var rules: KeyRules { base.rules }
    var rateLimits: (any SharedRateLimits)? { base.rateLimits }
    var shortcomings: [StoreShortcoming] { base.shortcomings }
    func probe() throws(KeyStoreError) {
        if let failure = probeFailure.withLock({ $0 }) { throw failure }
        try base.probe()
    }

    func flush(usage: [UsageIncrement], meters: [MeterIncrement], identity: String, changesSeen: Int64?)
        throws(KeyStoreError)
    {
        let refuse = refuseAfter.withLock { left in
            defer { left = left.map { $0 - 1 } }
            return left == 0
        }
        if refuse { throw KeyStoreError(.storageFailure, ["reason": "full"]) }
        try base.flush(usage: usage, meters: meters, identity: identity, changesSeen: changesSeen)
        if let failure = tokenFailureAfterNextFlush.withLock({ next in defer { next = nil }; return next }) {
            tokenFailure.withLock { $0 = failure }
        }
        if loseNext.withLock({ lose in defer { lose = false }; return lose }) {
            throw KeyStoreError(.storageFailure, ["reason": "unreachable"])
        }
    }

    func create(_ key: NewKey, limit: LiveKeyLimit?) throws(KeyStoreError) -> IssuedKey { try base.create(key, limit: limit) }
    func earlierCreation(of key: NewKey) throws(KeyStoreError) -> KeyStoreError? { try base.earlierCreation(of: key) }
    func appendEvent(_ event: NewEvent) throws(KeyStoreError) { try base.appendEvent(event) }
    func events(organizationId: String?, types: Set<EventType>?, after cursor: String?, limit: Int?)
        throws(KeyStoreError) -> EventPage
    {
        try base.events(organizationId: organizationId, types: types, after: cursor, limit: limit)
    }
    func sweepEvents(_ schedule: EventSchedule) throws(KeyStoreError) -> Int { try base.sweepEvents(schedule) }
    func foldUsage(before: Date, due: Date, after cursor: String?, keys: Int) throws(KeyStoreError) -> UsageFold {
        try base.foldUsage(before: before, due: due, after: cursor, keys: keys)
    }
    func forgetIdleRateLimits(before: Int64, after cursor: Int64?, entries: Int) throws(KeyStoreError) -> RateLimitSweep {
        try base.forgetIdleRateLimits(before: before, after: cursor, entries: entries)
    }
    func forgetDeliveries(before: Date, after cursor: DeliveryCursor?, rows: Int) throws(KeyStoreError) -> DeliveryForgetting {
        try base.forgetDeliveries(before: before, after: cursor, rows: rows)
    }
    func recordSettings(_ settings: [SettingInUse], information: [SettingInUse], within window: TimeInterval)
        throws(KeyStoreError) -> [SettingInUse]
    {
        try base.recordSettings(settings, information: information, within: window)
    }
    func importKeys(_ keys: [ImportedKey], limits: [String: LiveKeyLimit]) throws(KeyStoreError)
        -> [Result<ImportedKeyResult, KeyStoreError>]
    {
        try base.importKeys(keys, limits: limits)
    }
    func key(id: String, organizationId: String) throws(KeyStoreError) -> KeyRecord { try base.key(id: id, organizationId: organizationId) }
    func keys(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?) throws(KeyStoreError) -> KeyPage {
        try base.keys(organizationId: organizationId, filter: filter, cursor: cursor, limit: limit)
    }
    func update(id: String, organizationId: String, changes: KeyChanges, actor: String?) throws(KeyStoreError) -> KeyRecord {
        try base.update(id: id, organizationId: organizationId, changes: changes, actor: actor)
    }
    func rotate(id: String, organizationId: String, gracePeriodSeconds: Int, actor: String?, idempotencyKey: String?)
        throws(KeyStoreError) -> IssuedKey
    {
        try base.rotate(id: id, organizationId: organizationId, gracePeriodSeconds: gracePeriodSeconds, actor: actor,
                        idempotencyKey: idempotencyKey)
    }
    func earlierRotation(id: String, organizationId: String, gracePeriodSeconds: Int, idempotencyKey: String)
        throws(KeyStoreError) -> KeyStoreError?
    {
        try base.earlierRotation(id: id, organizationId: organizationId, gracePeriodSeconds: gracePeriodSeconds,
                                 idempotencyKey: idempotencyKey)
    }
    func previousSecrets(keyIds: [String]) throws(KeyStoreError) -> [String: [PreviousSecret]] {
        try base.previousSecrets(keyIds: keyIds)
    }
    func keyWithPreviousSecrets(id: String, organizationId: String) throws(KeyStoreError)
        -> (key: KeyRecord, previousSecrets: [PreviousSecret])
    {
        try base.keyWithPreviousSecrets(id: id, organizationId: organizationId)
    }
    func keysWithPreviousSecrets(organizationId: String, filter: KeyFilter, cursor: String?, limit: Int?)
        throws(KeyStoreError) -> (page: KeyPage, previousSecrets: [String: [PreviousSecret]])
    {
        try base.keysWithPreviousSecrets(organizationId: organizationId, filter: filter, cursor: cursor, limit: limit)
    }
    func stopPreviousSecrets(id: String, organizationId: String, actor: String?) throws(KeyStoreError) -> KeyRecord {
        try base.stopPreviousSecrets(id: id, organizationId: organizationId, actor: actor)
    }
    func revoke(id: String, organizationId: String, actor: String?, reason: String?) throws(KeyStoreError) -> KeyRecord {
        try base.revoke(id: id, organizationId: organizationId, actor: actor, reason: reason)
    }
    func flagLeaked(id: String, organizationId: String, secret: LeakedSecret, actor: String?, location: String?)
        throws(KeyStoreError)
    {
        try base.flagLeaked(id: id, organizationId: organizationId, secret: secret, actor: actor, location: location)
    }
    func delete(id: String, organizationId: String, actor: String?) throws(KeyStoreError) {
        try base.delete(id: id, organizationId: organizationId, actor: actor)
    }
    func eraseOrganization(_ organizationId: String, actor: String?) throws(KeyStoreError) -> OrganizationErasure {
        try base.eraseOrganization(organizationId, actor: actor)
    }
    func find(secret: String) throws(KeyStoreError) -> KeyLookup { try base.find(secret: secret) }
    func find(digest: KeyDigest) throws(KeyStoreError) -> KeyLookup { try base.find(digest: digest) }
    func changeToken() throws(KeyStoreError) -> ChangeToken {
        if let failure = tokenFailure.withLock({ $0 }) { throw failure }
        return try base.changeToken()
    }
    func changes(after: Int64, through: Int64) throws(KeyStoreError) -> ChangeSet? { try base.changes(after: after, through: through) }
    func recordUsage(_ increments: [UsageIncrement]) throws(KeyStoreError) { try base.recordUsage(increments) }
    func usageDays(organizationId: String, keyId: String?, from: Date, to: Date) throws(KeyStoreError) -> [UsageDay] {
        try base.usageDays(organizationId: organizationId, keyId: keyId, from: from, to: to)
    }
    func auditLog(organizationId: String, keyId: String?, cursor: String?, limit: Int?) throws(KeyStoreError) -> AuditPage {
        try base.auditLog(organizationId: organizationId, keyId: keyId, cursor: cursor, limit: limit)
    }
    func pruneAudit(before: Date, after cursor: Int64?, entries: Int) throws(KeyStoreError) -> AuditPruning {
        try base.pruneAudit(before: before, after: cursor, entries: entries)
    }
    func transaction<T>(_ body: (any StorageTransaction) -> T) throws(KeyStoreError) -> T? { try base.transaction(body) }
    func subscription(organizationId: String) throws(KeyStoreError) -> SubscriptionRecord? {
        try base.subscription(organizationId: organizationId)
    }
    func apply(_ event: BillingEvent) throws(KeyStoreError) -> BillingOutcome { try base.apply(event) }
    func readings(organizationId: String, periods: [(meter: String, periodStart: Date)]) throws(KeyStoreError) -> [MeterReading] {
        try base.readings(organizationId: organizationId, periods: periods)
    }
    func checkpoint() { base.checkpoint() }
    func meterChanges(meter: String, after: Int64, through: Int64) throws(KeyStoreError) -> [MeterChange] {
        try base.meterChanges(meter: meter, after: after, through: through)
    }
    func add(_ amount: Int, to meter: String, periodStart: Date, organizationId: String, idempotencyKey: String,
             reserve: Bool, limit: Int?) throws(KeyStoreError) -> (used: Int, replayed: Bool)
    {
        try base.add(amount, to: meter, periodStart: periodStart, organizationId: organizationId,
                     idempotencyKey: idempotencyKey, reserve: reserve, limit: limit)
    }
    func carryCounts(organizationId: String, meter: String, into periodStart: Date, before periodEnd: Date?)
        throws(KeyStoreError) -> (moved: Int, used: Int)
    {
        try base.carryCounts(organizationId: organizationId, meter: meter, into: periodStart, before: periodEnd)
    }
    func liveKeyIds(organizationId: String, kinds: [String], limit: Int) throws(KeyStoreError) -> [String] {
        try base.liveKeyIds(organizationId: organizationId, kinds: kinds, limit: limit)
    }
    func nextExpiry(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Date? {
        try base.nextExpiry(organizationId: organizationId, kinds: kinds)
    }
    func liveKeyCount(organizationId: String, kinds: [String]) throws(KeyStoreError) -> Int {
        try base.liveKeyCount(organizationId: organizationId, kinds: kinds)
    }
}

@Suite("Flushes whose outcome was unknown")
struct FlushRetryTests {
    @Test func aFlushCommittedButNotAcknowledgedIsNotCountedTwice() throws {
        let flaky = try FlakyStore()
        try flaky.verify(times: 3)
        flaky.storage.loseNext.withLock { $0 = true }
        #expect(throws: ServiceError.self) { try flaky.service.flushUsage() }
        // Two more after the failure: the next flush sends the unsure batch
        // again (which the store recognises) and then these.
        try flaky.verify(times: 2)
        try flaky.service.flushUsage()
        try flaky.service.flushUsage()
        #expect(try flaky.usage() == KeyUsage(valid: 5, invalid: 0))
        #expect(try flaky.requests()?.used == 5)
    }

    /// A flush that cannot read the change token (which tells it whose
    /// plan changed) fails before it takes anything: the next one writes
    /// every count.
    @Test func aFlushThatCannotReadTheChangeTokenLosesNothing() throws {
        let flaky = try FlakyStore()
        try flaky.verify(times: 3)
        flaky.storage.tokenFailure.withLock { $0 = KeyStoreError(.storageFailure, ["reason": "unreachable"]) }
        #expect(throws: ServiceError.self) { try flaky.service.flushUsage() }
        flaky.storage.tokenFailure.withLock { $0 = nil }
        try flaky.service.flushUsage()
        #expect(try flaky.usage() == KeyUsage(valid: 3, invalid: 0))
        #expect(try flaky.requests()?.used == 3)
    }

    /// A batch refused before billing moved its period earlier, and sent
    /// again after: its requests join the period that now holds them.
    @Test func aBatchSentAgainAfterItsPeriodMovedJoinsTheNewPeriod() throws {
        let flaky = try FlakyStore(periodStart: utc(2026, 11, 20), periodEnd: utc(2026, 12, 20))  // 22 November
        try flaky.verify(times: 3)
        flaky.storage.refuseAfter.withLock { $0 = 0 }
        #expect(throws: ServiceError.self) { try flaky.service.flushUsage() }
        try flaky.fixture.move(to: "pro", periodStart: utc(2026, 11, 10), periodEnd: utc(2026, 12, 10))
        try flaky.service.flushUsage()
        let requests = try flaky.requests()
        #expect(requests?.used == 3 && requests?.resetsAt == utc(2026, 12, 10))
    }

    /// A flush that wrote its counts and then could not look at whose
    /// period moved meanwhile (the server went away just after its
    /// commit) has the next flush look in its place: requests written
    /// under a start that billing moved earlier still join the period
    /// that now holds them, though that flush writes nothing of its own.
    @Test func aLookAtLateCountsThatFailedIsMadeByTheNextFlush() throws {
        let flaky = try FlakyStore(periodStart: utc(2026, 11, 20), periodEnd: utc(2026, 12, 20))  // 22 November
        try flaky.verify(times: 3)
        try flaky.fixture.move(to: "pro", periodStart: utc(2026, 11, 10), periodEnd: utc(2026, 12, 10))
        flaky.storage.tokenFailureAfterNextFlush.withLock { $0 = KeyStoreError(.storageFailure, ["reason": "unreachable"]) }
        #expect(throws: ServiceError.self) { try flaky.service.flushUsage() }
        #expect(try flaky.usage() == KeyUsage(valid: 3, invalid: 0))  // written before the look failed
        flaky.storage.tokenFailure.withLock { $0 = nil }
        try flaky.service.flushUsage()
        let requests = try flaky.requests()
        #expect(requests?.used == 3 && requests?.resetsAt == utc(2026, 12, 10))
    }

    /// Three verifications whose batch is refused, then their
    /// organization erased by another process.
    private func refusedThenErased() throws -> FlakyStore {
        let flaky = try FlakyStore()
        try flaky.verify(times: 3)
        flaky.storage.refuseAfter.withLock { $0 = 0 }
        #expect(throws: ServiceError.self) { try flaky.service.flushUsage() }
        _ = try flaky.fixture.service.eraseOrganization("org_a", actor: nil)
        return flaky
    }

    /// A batch refused before its organization was erased, and sent again
    /// after (before its process reads the change log): counted before the
    /// erasure, none of it is written, and the organization's request
    /// count stays erased.
    @Test func aBatchRefusedBeforeAnErasureIsNotWrittenAfterIt() throws {
        let flaky = try refusedThenErased()
        try flaky.service.flushUsage()
        #expect(try flaky.requests()?.used == 0)
    }

    /// The verifying process's own answer drops such a batch at once.
    @Test func aBatchRefusedBeforeAnErasureLeavesTheProcesssOwnAnswer() throws {
        let flaky = try refusedThenErased()
        let own = try flaky.service.quotas(organizationId: "org_a").quotas.first { $0.meter.rawValue == "api.requests" }
        #expect(own?.used == 0)
    }

    /// A flush of more keys than one batch holds, whose second batch is
    /// refused: the first stays written, the second is sent again first by
    /// the next flush, and the keys of the batches never tried go back into
    /// memory, merged with what was counted meanwhile. Every verification
    /// is written once.
    @Test func theBatchesAfterARefusedOneAreWrittenByTheNextFlush() throws {
        let fixture = try ServiceFixture()
        var keys: [CreatedKey] = []
        for index in 0..<30 {
            try fixture.move("org_\(index)", to: "pro")
            keys.append(try fixture.create("org_\(index)", kind: "owner_integration", capabilities: ["booking.read"]))
        }
        let storage = LostAcknowledgement(base: fixture.storage)
        let service = KeygateService(catalog: fixture.catalog, storage: storage, clock: fixture.clock)
        func verifyAll() throws {
            for key in keys { _ = try service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")) }
        }
        // One increment per key and day: 30 keys over 70 days are 2,100, three batches.
        for _ in 0..<70 {
            try verifyAll()
            fixture.clock.advance(by: 86_400)
        }
        #expect(KeygateService.flushKeyBatch * 2 < 2_100)
        storage.refuseAfter.withLock { $0 = 1 }
        #expect(throws: ServiceError.self) { try service.flushUsage() }
        // Counted meanwhile, on a day the flush had taken counts of too.
        fixture.clock.advance(by: -86_400)
        try verifyAll()
        try service.flushUsage()
        for key in keys {
            #expect(try service.key(id: key.key.record.id, organizationId: key.key.record.organizationId).record.usage
                == KeyUsage(valid: 71, invalid: 0))
        }
        let days = try service.usage(organizationId: "org_0", keyId: keys[0].key.record.id,
                                         from: fixture.clock.now().addingTimeInterval(-80 * 86_400), to: fixture.clock.now())
        #expect(days.map(\.valid).reduce(0, +) == 71 && days.count == 70)
        #expect(days.last?.valid == 2)
    }
}

/// `org_a` on Pro with one key, verified by a service of its own on the
/// fixture's store behind a ``LostAcknowledgement`` that fails as told.
struct FlakyStore {
    let fixture: ServiceFixture
    let storage: LostAcknowledgement
    let service: KeygateService
    let key: CreatedKey

    init(periodStart: Date? = nil, periodEnd: Date? = nil) throws {
        fixture = try ServiceFixture()
        try fixture.move(to: "pro", periodStart: periodStart, periodEnd: periodEnd)
        key = try fixture.create(kind: "owner_integration", capabilities: ["booking.read"])
        storage = LostAcknowledgement(base: fixture.storage)
        service = KeygateService(catalog: fixture.catalog, storage: storage, clock: fixture.clock)
    }

    func verify(times: Int) throws {
        for _ in 0..<times { _ = try service.verify(VerifyRequest(key: key.secret.unredacted, capability: "booking.read")) }
    }

    /// The key's counts as stored.
    func usage() throws -> KeyUsage {
        try service.key(id: key.key.record.id, organizationId: "org_a").record.usage
    }

    /// The organization's request quota, as stored.
    func requests() throws -> QuotaState? {
        try fixture.service.quotas(organizationId: "org_a").quotas.first { $0.meter.rawValue == "api.requests" }
    }
}
