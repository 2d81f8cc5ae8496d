import Foundation
@testable import KeyStorePostgres
import KeygateTestSupport
#if canImport(Glibc)
import Glibc
#endif
import Testing

/// `keygate serve` behind PgBouncer in transaction mode, where each
/// transaction may run on another server connection than the last, and
/// clients share them (two per database here): nothing may depend on a
/// server session outliving a transaction. The store's behaviour tests,
/// the stale-answer and shared-limit tests and the pipelined-writes tests
/// run through the pooler too (`Backend.withPooler`).
@Suite("Behind a pooler in transaction mode", .serialized,
       .enabled(if: Backend.poolerEnabled, Comment(rawValue: Backend.poolerSkipReason)))
struct PoolerTests {
    /// Hosts starting together on a new database migrate it once, and the
    /// migration's lock goes with its transaction: a session's lock would
    /// stay with whichever server connection the pooler lent, held after
    /// the process is gone, and the next start would wait on it for ever.
    @Test func processesStartedTogetherMigrateOnceAndLeaveNoLockBehind() throws {
        let url = try Backend.freshPooledDatabase()
        let processes = try (0..<3).map { _ in try ServeProcess(postgres: url, pooled: true) }
        for serve in processes {
            #expect(try serve.result("subscriptions.get", ["organizationId": "org_m"])["plan"] as? String == "free",
                    "\(serve.stderr)")
        }
        for serve in processes { #expect(serve.finish() == 0) }
        let direct = try Backend.directURL(of: url)
        #expect(try PostgresKeyStorage.rows(in: "keygate_migration", url: direct) == PostgresMigrator.latest)
        #expect(try PostgresKeyStorage.rows(in: """
            pg_locks l JOIN pg_database d ON d.oid = l.database
            WHERE l.locktype = 'advisory' AND d.datname = current_database()
            """, url: direct) == 0)
        // And the next start does not wait for anything.
        let later = try ServeProcess(postgres: url, pooled: true)
        #expect(try later.result("subscriptions.get", ["organizationId": "org_m"])["plan"] as? String == "free")
        #expect(later.finish() == 0)
    }

    /// Without LISTEN, a change reaches the other processes by their poll:
    /// within a second (the default), never stale after it.
    @Test func aRevocationReachesAnotherProcessWithinThePoll() throws {
        let (admin, gateway, secret, keyId) = try ServeProcess.adminAndGateway(on: .pooled, organization: "org_p")
        _ = try admin.result("keys.revoke", ["organizationId": "org_p", "keyId": keyId])
        let revokedAt = Date()
        #expect(try gateway.verification(of: secret, until: "revoked", tries: 50, pause: 100_000) == "revoked")
        // The poll's bound, with room for a loaded machine's scheduling.
        #expect(Date().timeIntervalSince(revokedAt) < 3)
        #expect(admin.finish() == 0)
        #expect(gateway.finish() == 0)
    }

    /// LISTEN needs a server session of its own, which a pooler in
    /// transaction mode does not give: asking for notified freshness there
    /// stops the start with the remedy, rather than never hearing a change.
    @Test func notifiedFreshnessIsRefusedWithTheRemedy() throws {
        let url = try Backend.freshPooledDatabase()
        let folder = try ScratchFolder.make("keygate-pooler")
        let refused = try CommandRun(["serve", "--database", url, "--pool-mode", "transaction", "--freshness", "notified"],
                                     in: folder, input: "")
        #expect(refused.status != 0)
        #expect(refused.output.isEmpty)
        #expect(refused.errors.contains("--freshness notified needs LISTEN"), "\(refused.errors)")
        #expect(refused.errors.contains("use polled or strict"))
        let unknown = try CommandRun(["serve", "--database", url, "--pool-mode", "statement"], in: folder, input: "")
        #expect(unknown.status != 0)
        #expect(unknown.errors.contains("--pool-mode must be session or transaction"), "\(unknown.errors)")
    }
}
