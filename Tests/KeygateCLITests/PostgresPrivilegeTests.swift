import Foundation
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// Keygate's processes running as a role that may only read and write,
/// while the schema's owner migrates: least privilege, as a DBA sets it up.
@Suite("PostgreSQL: a role that may only read and write",
       .enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
struct PostgresPrivilegeTests {
    /// A new role with a login and a password (for a server that asks for
    /// one), the URL that logs in as it to the owner's schema, and its removal.
    struct Role {
        let name = "kg_rw_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "").prefix(12)
        let password = "pw-" + UUID().uuidString
        let url: String
        let owner: String

        init(on owner: String) throws {
            self.owner = owner
            try PostgresKeyStorage.execute("CREATE ROLE \(name) LOGIN PASSWORD '\(password)'", url: owner)
            var components = try #require(URLComponents(string: owner))
            components.user = name
            components.password = nil
            url = try #require(components.string)
        }

        /// Runs `statement` with the owner's schema in place of `%I`.
        func grant(_ statement: String) throws {
            try PostgresKeyStorage.execute(
                "DO $$ BEGIN EXECUTE format('\(statement)', current_schema()); END $$", url: owner)
        }

        /// Roles belong to the whole server: dropped, so a shared one is left as it was.
        func drop() {
            try? PostgresKeyStorage.execute("DROP OWNED BY \(name); DROP ROLE \(name)", url: owner)
        }
    }

    /// `CREATE TABLE IF NOT EXISTS keygate_migration` at every start asked
    /// for the right to create in the schema even where the table was
    /// there: such a role could not start on a database its owner had
    /// migrated, and was told only "permission denied for schema public".
    /// Now it serves, tables a later migration adds reach it through the
    /// owner's default privileges (docs/OPERATIONS.md), and a schema it
    /// cannot bring up to date, or may not use, is refused saying what to
    /// do: the owner's `keygate migrate`.
    @Test func aRoleThatMayOnlyReadAndWriteServesOnceTheOwnerHasMigrated() throws {
        let owner = try Backend.freshPostgresSchema()
        let role = try Role(on: owner)
        defer { role.drop() }
        let login = ["PGPASSWORD": role.password]
        // Without USAGE on the schema the role sees nothing in it.
        let blind = try ServeProcess(postgres: role.url, environment: login)
        blind.closeInput()
        #expect(blind.waitForExit() == 1)
        #expect(blind.stderr.contains("the user keygate connects as sees no Keygate schema and may not create one "
            + "(no schema has been selected to create in); run keygate migrate as a user that may (the schema's owner), "
            + "or grant this one USAGE on the schema"), "\(blind.stderr)")
        try role.grant("GRANT USAGE ON SCHEMA %I TO \(role.name)")

        let early = try ServeProcess(postgres: role.url, environment: login)
        early.closeInput()
        #expect(early.waitForExit() == 1)
        #expect(early.stderr.contains("the user keygate connects as sees no Keygate schema and may not create one "
            + "(permission denied for schema "), "\(early.stderr)")
        #expect(early.stderr.contains("run keygate migrate as a user that may (the schema's owner), or grant this one USAGE"))

        // The owner migrates part of the way, grants as the docs say, then
        // a newer keygate of the owner's adds the rest.
        try PostgresKeyStorage.migrate(url: owner, upTo: 2)
        try role.grant("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA %I TO \(role.name)")
        try role.grant("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA %I TO \(role.name)")
        try role.grant("ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO \(role.name)")
        try role.grant("ALTER DEFAULT PRIVILEGES IN SCHEMA %I GRANT USAGE, SELECT ON SEQUENCES TO \(role.name)")
        let behind = try ServeProcess(postgres: role.url, environment: login)
        behind.closeInput()
        #expect(behind.waitForExit() == 1)
        #expect(behind.stderr.contains("the database's schema is version 2 and this keygate needs "), "\(behind.stderr)")
        #expect(behind.stderr.contains("may not change it (permission denied for schema "))
        #expect(behind.stderr.contains("run keygate migrate as a user that may (the schema's owner), then start this one"))
        // keygate migrate as the role is refused alike; as the owner it migrates.
        let refused = try ToolRun(ServeProcess.executable, ["migrate", "--database", role.url], environment: login)
        #expect(refused.status == 2)
        #expect(refused.errors.contains("the database's schema is version 2 and this keygate needs "), "\(refused.errors)")
        let migrating = try ToolRun(ServeProcess.executable, ["migrate", "--database", owner])
        #expect(migrating.status == 0, "\(migrating.errors)")
        #expect(migrating.output.hasPrefix("migrated \(owner) from 2: "), "\(migrating.output)")

        let serve = try ServeProcess(postgres: role.url, arguments: ["--event-sweep-seconds", "1"], environment: login)
        let key = try serve.proKey(organization: "org_rw", rateLimit: 60)
        let secret = try #require(key["secret"] as? String)
        let keyId = try #require((key["key"] as? [String: Any])?["id"] as? String)
        for _ in 0..<3 {
            #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        }
        #expect(try serve.validUsage(of: keyId, in: "org_rw", reaching: 3) == 3)
        _ = try serve.result("keys.rotate", ["organizationId": "org_rw", "keyId": keyId])
        _ = try serve.result("keys.revoke", ["organizationId": "org_rw", "keyId": keyId])
        let events = try serve.result("events.list", ["limit": 10])["events"] as? [[String: Any]] ?? []
        #expect(events.compactMap { $0["type"] as? String }.contains("key.revoked"), "\(events)")
        #expect(try serve.result("health.check", [:])["status"] as? String == "pass")
        #expect(!serve.stderr.contains("permission denied"), "\(serve.stderr)")
        #expect(!serve.stderr.contains(" error ") && !serve.stderr.contains(" critical "), "\(serve.stderr)")

        // A right the owner forgot: the caller learns that nothing was
        // changed, the log which right is missing (it once said only
        // "reason=other").
        try role.grant("REVOKE INSERT ON %I.outbox_event FROM \(role.name)")
        let unwritten = try serve.call("keys.create", ["organizationId": "org_rw", "name": "k2", "kind": "owner_integration",
                                                       "capabilities": ["booking.read"]])
        #expect(((unwritten["error"] as? [String: Any])?["data"] as? [String: Any])?["code"] as? String == "storage_failure",
                "\(unwritten)")
        #expect(serve.finish() == 0)
        #expect(serve.stderr.contains("detail=permission denied for table outbox_event method=keys.create reason=other "
            + "[KeygateRPC] storage failure"), "\(serve.stderr)")
    }
}
