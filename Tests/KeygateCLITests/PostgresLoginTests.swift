import Foundation
@testable import KeygateCLI
import KeygateTestSupport
import Testing

/// Logging in to PostgreSQL: what an operator reads when the server
/// refuses the login or lacks the database, and where a password should
/// live (not on the command line, which every user of the host can read).
@Suite("PostgreSQL logins")
struct PostgresLoginTests {
    /// A cluster that asks for a password (SCRAM): without one, or with a
    /// wrong one, the server refuses keygate's login, and the message says
    /// so, not that the server cannot be reached, and never shows the
    /// password. With PGPASSWORD it serves; with the password in the URL
    /// (or a keyword/value string) on the command line it serves and warns.
    @Test(.enabled(if: PrivateCluster.binaries != nil, "no initdb: install Debian's postgresql package"))
    func aRefusedLoginIsToldApartFromAnUnreachableServer() throws {
        let cluster = try PrivateCluster(password: "pw-s3cret")
        let refused = "[KeygateCLI] cannot start"
        // Whatever the test run's own environment gives libpq.
        let noPassword = ["PGPASSWORD": "", "PGPASSFILE": "/dev/null"]
        let withoutPassword = try ServeProcess(postgres: cluster.url, environment: noPassword)
        // Closed first: a server that logged in after all ends (with 0)
        // rather than waiting for requests.
        withoutPassword.closeInput()
        #expect(withoutPassword.waitForExit() == 1)
        #expect(withoutPassword.stderr.contains("reason=the PostgreSQL server at \(cluster.url) refused keygate's login ("),
                "\(withoutPassword.stderr)")
        #expect(withoutPassword.stderr.contains("no password supplied"))
        #expect(withoutPassword.stderr.contains("PGPASSWORD or a password file (~/.pgpass, PGPASSFILE) \(refused)"))

        let wrongURL = cluster.url.replacingOccurrences(of: "keygate@", with: "keygate:not-it@")
        let wrong = try ServeProcess(postgres: wrongURL, environment: noPassword)
        wrong.closeInput()
        #expect(wrong.waitForExit() == 1)
        #expect(wrong.stderr.contains("refused keygate's login"), "\(wrong.stderr)")
        #expect(wrong.stderr.contains("password authentication failed for user \"keygate\""))
        #expect(!wrong.stderr.contains("not-it"))

        let fromEnvironment = try ServeProcess(postgres: cluster.url, environment: ["PGPASSWORD": "pw-s3cret"])
        #expect(try fromEnvironment.result("catalog.plans", [:])["defaultPlan"] as? String == "free")
        #expect(fromEnvironment.finish() == 0)
        #expect(!fromEnvironment.stderr.contains("holds a password"))

        let inURL = try ServeProcess(postgres: cluster.url.replacingOccurrences(of: "keygate@", with: "keygate:pw-s3cret@"),
                                     environment: noPassword)
        #expect(try inURL.result("catalog.plans", [:])["defaultPlan"] as? String == "free")
        #expect(inURL.finish() == 0)
        #expect(inURL.stderr.contains("warning keygate: [KeygateCLI] the --database option holds a password, which every user "
            + "of this host can read in the process list"), "\(inURL.stderr)")
        #expect(!inURL.stderr.contains("pw-s3cret"))

        // The same as psql's keyword/value string: the same login, the same warning.
        let keywords = try ServeProcess(
            postgres: "host=127.0.0.1 port=\(cluster.port) user=keygate dbname=postgres password=pw-s3cret",
            environment: noPassword)
        #expect(try keywords.result("catalog.plans", [:])["defaultPlan"] as? String == "free")
        #expect(keywords.finish() == 0)
        #expect(keywords.stderr.contains("the --database option holds a password"), "\(keywords.stderr)")
        #expect(!keywords.stderr.contains("pw-s3cret"))

        let noDatabase = try ServeProcess(postgres: cluster.url.replacingOccurrences(of: "/postgres", with: "/missing"),
                                          environment: ["PGPASSWORD": "pw-s3cret"])
        noDatabase.closeInput()
        #expect(noDatabase.waitForExit() == 1)
        #expect(noDatabase.stderr.contains("has no such database ("), "\(noDatabase.stderr)")
        #expect(noDatabase.stderr.contains("create it (createdb) or name another"))
    }

    /// A login by password (SCRAM) runs OpenSSL in the threads that
    /// connect; a process that exited while one of them was in it crashed
    /// (SIGSEGV, about one exit in twenty here), OpenSSL freeing its state
    /// at exit under them. Forty starts and stops all end with 0 (before
    /// the fix, twenty of them failed one run in three).
    @Test(.enabled(if: PrivateCluster.binaries != nil, "no initdb: install Debian's postgresql package"))
    func processesLoggedInByPasswordExitCleanly() throws {
        let cluster = try PrivateCluster(password: "pw-s3cret")
        for _ in 0..<40 {
            let serve = try ServeProcess(postgres: cluster.url, environment: ["PGPASSWORD": "pw-s3cret"])
            #expect(try serve.result("catalog.plans", [:])["defaultPlan"] as? String == "free")
            let status = serve.finish()
            #expect(status == 0, "\(serve.stderr.suffix(2_000))")
            if status != 0 { break }
        }
    }

    @Test func onlyAPasswordGivenOnTheCommandLineIsWarnedOf() {
        #expect(Database.passwordWarning(option: "postgresql://keygate:secret@db.internal/keygate") != nil)
        #expect(Database.passwordWarning(option: "postgres://keygate:secret@db.internal:5432/keygate?sslmode=require") != nil)
        #expect(Database.passwordWarning(option: "postgresql://keygate@db.internal/keygate") == nil)
        #expect(Database.passwordWarning(option: "keygate.sqlite") == nil)
        #expect(Database.passwordWarning(option: nil) == nil, "KEYGATE_DATABASE is this user's own to read")
    }

    @Test func aLoginRefusedIsToldByLibpqsWordsAndTheServersInEnglish() {
        #expect(StartupFailure.loginRefused("connection to server at \"db\", port 5432 failed: fe_sendauth: no password supplied"))
        #expect(StartupFailure.loginRefused("FATAL:  password authentication failed for user \"keygate\""))
        #expect(StartupFailure.loginRefused("FATAL:  no pg_hba.conf entry for host \"10.0.0.5\", user \"keygate\""))
        #expect(StartupFailure.loginRefused("FATAL:  role \"keygate\" does not exist"))
        #expect(!StartupFailure.loginRefused("connection to server at \"db\", port 5432 failed: Connection refused"))
        #expect(!StartupFailure.loginRefused("FATAL:  database \"keygate\" does not exist"))
    }
}
