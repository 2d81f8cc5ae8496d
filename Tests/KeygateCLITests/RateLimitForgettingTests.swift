import Foundation
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// `keygate serve` on PostgreSQL forgets the rate-limit rows of keys quiet
/// for an hour (deleted keys' among them), a pass an hour from its first
/// sweep, so the table holds the keys in use, not every key ever verified.
@Suite("keygate serve: quiet keys' rate-limit state",
       .enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
struct RateLimitForgettingTests {
    @Test func quietKeysRowsAreForgottenAtTheFirstSweepAndAKeyInUseKeepsItsOwn() throws {
        let url = try Backend.freshPostgresSchema()
        try PostgresKeyStorage.migrate(url: url, upTo: .max)
        let now = Int64(Date().timeIntervalSince1970 * 1_000_000)
        let hour: Int64 = 3_600_000_000
        // Two keys last verified two hours ago, a third whose burst is in use.
        try PostgresKeyStorage.execute("""
            INSERT INTO rate_limit (tag, arrival) VALUES (1, \(now - 2 * hour)), (2, \(now - 2 * hour)), (3, \(now + 30_000_000))
            """, url: url)
        let serve = try ServeProcess(postgres: url, arguments: ["--log-level", "debug"])
        #expect(serve.logs("keys=2 [KeygateCLI] quiet keys' rate-limit state forgotten"), "\(serve.stderr)")
        #expect(try PostgresKeyStorage.rows(in: "rate_limit", url: url) == 1)
        #expect(serve.finish() == 0)
    }
}
