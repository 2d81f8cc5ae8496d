import Foundation
@testable import KeyStore
@testable import KeyStorePostgres
import KeygateTestSupport
import Locking
import Testing

/// A server that takes a statement and does not answer it in time: one
/// slow behind a lock another session holds (the server is up), and one
/// whose process has stopped (nothing answers, not even a cancel, and no
/// TCP timeout fires, since its kernel still acknowledges what is sent).
/// Before answer timeouts, either held its caller for as long as it lasted,
/// and in `keygate serve`, which answers in order, every request behind it.
@Suite("PostgreSQL: a server that does not answer in time",
       .enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
struct PostgresAnswerTimeoutTests {
    let rules = StoreFixture.rules
    /// Verification's limit, short for the tests' sake.
    let timeouts = PostgresKeyStorage.AnswerTimeouts(verification: .milliseconds(300), other: .seconds(30))

    func newKey() -> NewKey {
        NewKey(organizationId: "org_a", name: "Zapier", kind: "owner_integration", capabilities: ["booking.read"],
               environment: "live", rateLimit: 60, allowedOrigins: [], expiresAt: nil, actor: "user_1")
    }

    /// `body`'s outcome, on a thread of its own; a failure of the test if
    /// it has none after 20 s (the call would have waited for ever), the
    /// thread then left to end with the test's cleanup.
    func answered<T: Sendable>(_ body: @escaping @Sendable () throws(KeyStoreError) -> T) -> Result<T, KeyStoreError>? {
        let outcome = Locked<Result<T, KeyStoreError>?>(nil)
        Thread {
            let result = Result(catching: body)
            outcome.withLock { $0 = result }
        }.start()
        // Bounded: 20 s.
        for _ in 0..<2_000 where outcome.withLock({ $0 }) == nil { Thread.sleep(forTimeInterval: 0.01) }
        let result = outcome.withLock { $0 }
        #expect(result != nil, "no answer in 20 s")
        return result
    }

    /// A fresh schema of the test server, reached through a relay that can
    /// stop relaying; connecting gives up after 2 s.
    func relayedSchema() throws -> (FreezingProxy, String) {
        let schema = try Backend.freshPostgresSchema()
        let port = try #require(schema.firstMatch(of: /127\.0\.0\.1:(\d+)\//).flatMap { Int($0.1) },
                                "the test server is reached over TCP on loopback")
        let proxy = try FreezingProxy(to: port)
        return (proxy, proxy.url(through: schema) + "&connect_timeout=2")
    }

    func failure<T>(_ result: Result<T, KeyStoreError>?) -> KeyStoreError? {
        guard case .failure(let error) = result else { return nil }
        return error
    }

    /// A look-up behind `LOCK TABLE … ACCESS EXCLUSIVE` (an `ALTER TABLE`,
    /// a `VACUUM FULL`, a `psql` session that took the lock and stayed in
    /// its transaction): canceled at its limit, `busy`, and nothing of
    /// keygate's is left waiting on the server, nor piling up there with
    /// each look-up after it. The connection stays usable. Behind PgBouncer
    /// too, which passes the cancel on to the server session it lent.
    @Test(arguments: Backend.withPooler.filter { $0 != .sqlite })
    func aReadBehindALockIsCanceledAtItsLimitAndLeavesNothingWaiting(_ backend: Backend) throws {
        let url = try #require(try backend.freshPostgresURL())
        // The session that locks, and the one that looks, reach the server itself.
        let direct = backend == .pooled ? try Backend.directURL(of: url) : url
        let storage = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict, poolMode: backend.poolMode,
                                             answerTimeouts: timeouts)
        let issued = try storage.create(newKey(), limit: nil)
        let secret = issued.secret.unredacted
        let session = try OpenTransaction("LOCK TABLE key_secret IN ACCESS EXCLUSIVE MODE", url: direct)
        for _ in 0..<3 {
            guard let result = answered({ () throws(KeyStoreError) in try storage.find(secret: secret) }) else {
                try session.end()  // which lets the waiting call end
                return
            }
            let error = failure(result)
            #expect(error?.code == .storageFailure && error?.parameters["reason"] == "busy", "\(String(describing: error))")
            #expect(error?.parameters["detail"] == "PostgreSQL did not answer within 300 ms; the statement was canceled")
        }
        let observer = try PGConnection(conninfo: PostgresKeyStorage.conninfo(for: direct), prepares: false)
        let waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND $1::int = ANY (pg_blocking_pids(pid))"
        #expect(try observer.query(waiting, [.integer(Int64(session.pid))]).int(0, 0) == 0)
        try session.end()
        guard case .success(.found(let match)) = answered({ () throws(KeyStoreError) in
            try storage.find(secret: secret)
        }) else {
            Issue.record("the key was not found once the lock was gone")
            return
        }
        #expect(match.key.id == issued.key.id)
    }

    /// A server that answers nothing at all, played by a relay that stops
    /// relaying: the look-up gives up at its limit and a second after, when
    /// the cancel went unanswered too, as `unreachable`. Calls after it fail
    /// at once with that failure, rather than each waiting again; one thread
    /// asks the server in the background, and once it answers, so do calls.
    @Test func aServerThatAnswersNothingIsGivenUpOnAndAskedAgainInTheBackground() throws {
        let (proxy, url) = try relayedSchema()
        defer { proxy.stop() }
        let storage = try PostgresKeyStorage(url: url, rules: rules, freshness: .strict, answerTimeouts: timeouts)
        let issued = try storage.create(newKey(), limit: nil)
        let secret = issued.secret.unredacted
        proxy.freeze()
        guard let result = answered({ () throws(KeyStoreError) in try storage.find(secret: secret) }) else {
            proxy.thaw()  // which lets the waiting call end
            return
        }
        let error = failure(result)
        #expect(error?.code == .storageFailure && error?.parameters["reason"] == "unreachable", "\(String(describing: error))")
        let given = "PostgreSQL did not answer within 300 ms, nor to a request to cancel within 1 s; the connection was closed"
        #expect(error?.parameters["detail"] == given)
        // Told the same failure again: no call of its own went to the server.
        for _ in 0..<5 {
            let again = failure(answered { () throws(KeyStoreError) in try storage.find(secret: secret) })
            #expect(again?.parameters["detail"] == given, "\(String(describing: again))")
        }
        proxy.thaw()
        var found = false
        // Bounded: 100 tries, a tenth of a second apart.
        for _ in 0..<100 where !found {
            if case .success(.found) = answered({ () throws(KeyStoreError) in try storage.find(secret: secret) }) {
                found = true
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        #expect(found, "calls still fail once the server answers again")
    }

    /// Cut off from the server, a host answers from what it last read for
    /// the grace after the server last answered, and no longer: other hosts
    /// that still reach the server may commit meanwhile (a revocation), and
    /// before the grace this host answered from memory for as long as the
    /// partition lasted. Once the server answers, so does the host.
    @Test func aHostCutOffAnswersFromMemoryForItsGraceAndNoLonger() throws {
        let (proxy, url) = try relayedSchema()
        defer { proxy.stop() }
        let storage = try PostgresKeyStorage(url: url, rules: rules,
                                             freshness: .polled(every: 0.1), answerTimeouts: timeouts,
                                             unreachableGrace: .seconds(5))
        let token = try storage.changeToken()
        proxy.freeze()
        Thread.sleep(forTimeInterval: 0.2)  // past the poll interval: the next call asks the server
        // Within the grace (its poll gave up after 1.3 s): the last token.
        guard let first = answered({ () throws(KeyStoreError) in try storage.changeToken() }) else {
            proxy.thaw()
            return
        }
        #expect(try first.get() == token)
        // Past it, bounded: 100 tries, a tenth of a second apart (10 s).
        var refusal: KeyStoreError?
        for _ in 0..<100 where refusal == nil {
            refusal = failure(answered { () throws(KeyStoreError) in try storage.changeToken() })
            if refusal == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(refusal?.code == .storageFailure && refusal?.parameters["reason"] == "unreachable",
                "\(String(describing: refusal))")
        proxy.thaw()
        var answering = false
        for _ in 0..<100 where !answering {
            if case .success = answered({ () throws(KeyStoreError) in try storage.changeToken() }) {
                answering = true
            } else {
                Thread.sleep(forTimeInterval: 0.1)
            }
        }
        #expect(answering, "the host still fails once the server answers again")
    }
}
