import Foundation
import KeyStore
import KeygateTestSupport
import Locking
import Testing

/// A retention of the audit log as each store keeps it: entries written
/// before it go, every organization's, oldest first and a step at a time;
/// an entry written since it is never deleted.
@Suite("Pruning the audit log")
struct AuditPruningTests {
    /// Runs a whole pass, `entries` a step; the entries pruned and the steps taken.
    private func pass(_ storage: any KeygateStorage, before: Date, entries: Int) throws -> (pruned: Int, steps: Int) {
        var cursor: Int64?
        var pruned = 0
        // Bounded: a pass that never ends fails the test instead of hanging it.
        for steps in 1...100 {
            let step = try storage.pruneAudit(before: before, after: cursor, entries: entries)
            pruned += step.pruned
            guard let next = step.next else { return (pruned, steps) }
            cursor = next
        }
        Issue.record("the pass did not end in 100 steps")
        return (pruned, 100)
    }

    @Test(arguments: Backend.withPooler) func entriesPastTheRetentionGoForEveryOrganizationAndTheRestStay(
        _ backend: Backend
    ) throws {
        let fixture = try StoreFixture(backend)
        let storage = fixture.storage
        let old = try [("org_a", "A"), ("org_b", "B"), ("org_a", "C")].map { organization, name in
            try fixture.create(fixture.newKey(organization: organization, name: name))
        }
        _ = try storage.revoke(id: old[0].key.id, organizationId: "org_a", actor: "user_1")
        let cutoff = fixture.clock.now().addingTimeInterval(86_400)
        fixture.clock.set(cutoff)
        let recent = try fixture.create(fixture.newKey(organization: "org_a", name: "D, written at the cutoff"))
        fixture.clock.advance(by: 9 * 86_400)
        _ = try storage.revoke(id: old[2].key.id, organizationId: "org_a", actor: "user_1")

        let (pruned, steps) = try pass(storage, before: cutoff, entries: 3)
        #expect(pruned == 4, "three creations and a revocation")
        #expect(steps == 2, "a whole step, then one that reaches the kept entries")
        let kept = try storage.auditLog(organizationId: "org_a", cursor: nil, limit: 200).entries
        #expect(kept.map(\.action) == [.keyRevoked, .keyCreated])
        #expect(kept.map(\.keyId) == [old[2].key.id, recent.key.id])
        #expect(try storage.auditLog(organizationId: "org_b", cursor: nil, limit: 200).entries.isEmpty)
        #expect(try storage.auditLog(organizationId: "org_a", keyId: old[0].key.id, cursor: nil, limit: 200).entries.isEmpty,
                "a key's trail goes with the log")

        let again = try pass(storage, before: cutoff, entries: 2)
        #expect(again.pruned == 0 && again.steps == 1, "a pass that finds nothing ends at its first step")
        #expect(try storage.pruneAudit(before: cutoff, after: nil, entries: 1_000) == AuditPruning(pruned: 0, next: nil))
    }

    /// Entries written out of the order of their times (another host's
    /// clock behind): the pass stops at the first one it keeps, and the
    /// older one after it waits for a later pass; nothing kept goes.
    @Test(arguments: Backend.available) func aPassStopsAtTheFirstEntryItKeeps(_ backend: Backend) throws {
        let fixture = try StoreFixture(backend)
        let start = fixture.clock.now()
        _ = try fixture.create(fixture.newKey(name: "old"))
        fixture.clock.set(start.addingTimeInterval(10 * 86_400))
        _ = try fixture.create(fixture.newKey(name: "recent"))
        fixture.clock.set(start)
        _ = try fixture.create(fixture.newKey(name: "old, written late"))
        let cutoff = start.addingTimeInterval(86_400)

        #expect(try pass(fixture.storage, before: cutoff, entries: 10).pruned == 1)
        let kept = try fixture.storage.auditLog(organizationId: "org_a", cursor: nil, limit: 200).entries
        #expect(kept.map { ($0.at.timeIntervalSince(start) / 86_400).rounded() } == [0, 10],
                "the old one written after the recent one, and the recent one")
        #expect(try pass(fixture.storage, before: start.addingTimeInterval(11 * 86_400), entries: 10).pruned == 2,
                "once the recent one is past the retention too")
    }

    /// Two passes at once on PostgreSQL, one of them inside a transaction
    /// still open: the other neither waits for it nor takes its entries
    /// again, and between them every entry past the retention goes once.
    @Test(.enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
    func aPassGoesPastTheEntriesAnotherPassHolds() throws {
        let fixture = try StoreFixture(.postgres)
        let other = try StoreFixture(.postgres, postgresURL: fixture.postgresURL)
        for organization in 0..<30 {
            _ = try fixture.storage.apply(BillingEvent(eventId: "evt_\(organization)", organizationId: "org_\(organization)",
                                                       plan: "pro", occurredAt: fixture.clock.now()))
        }
        let cutoff = fixture.clock.now().addingTimeInterval(1)
        let concurrent = Locked<(pruned: Int, steps: Int)?>(nil)
        let held = try fixture.storage.transaction { transaction in
            let step = try? transaction.step { bound in try bound.pruneAudit(before: cutoff, after: nil, entries: 10) }
            // Bounded: a pass that waits for this transaction fails the test after 10 s.
            let passing = Thread { concurrent.withLock { $0 = try? self.pass(other.storage, before: cutoff, entries: 4) } }
            passing.start()
            for _ in 0..<1_000 where concurrent.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
            return step
        } ?? nil
        #expect(held?.pruned == 10)
        let passed = try #require(concurrent.withLock { $0 }, "the other pass waited for the open transaction")
        #expect(passed.pruned == 20, "the entries the open transaction holds are not taken again")
        #expect(try pass(fixture.storage, before: cutoff, entries: 10).pruned == 0)
        let left = try (0..<30).map { try fixture.storage.auditLog(organizationId: "org_\($0)", cursor: nil, limit: 1).entries.count }
        #expect(left.allSatisfy { $0 == 0 })
    }
}
