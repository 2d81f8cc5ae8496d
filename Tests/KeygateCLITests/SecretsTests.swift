import Foundation
import Testing

/// Issue 8, secrets: after a full workload, logged at trace level, no raw
/// key appears anywhere but the one answer that issued it.
@Suite("Secrets stay secret", .serialized)
struct SecretsTests {
    @Test func noRawKeyAppearsInTheDatabaseTheLogOrAnyOtherAnswer() throws {
        let serve = try ServeProcess(arguments: ["--log-level", "trace"])
        _ = try serve.result("subscriptions.setPlan", [
            "organizationId": "org_s", "plan": "pro", "eventId": "e", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        var secrets: [String] = []
        var issuing: Set<Int> = []
        for index in 0..<12 {
            let created = try serve.result("keys.create", [
                "organizationId": "org_s", "name": "k\(index)", "kind": "owner_integration",
                "capabilities": ["booking.read", "subscription.read"],
            ])
            issuing.insert(serve.stdoutLines.count - 1)
            let secret = created["secret"] as! String
            let keyId = (created["key"] as! [String: Any])["id"] as! String
            secrets.append(secret)
            _ = try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])
            _ = try serve.result("keys.verify", ["key": secret, "capability": "webhook.manage"])
            _ = try serve.result("subscriptions.quotas", ["key": secret])
            _ = try serve.call("keys.verify", ["key": secret + "x", "capability": "booking.read"])
            // Pasted into the wrong fields, a key is echoed only as its hint.
            _ = try serve.call("keys.create", ["organizationId": "org_s", "name": secret, "kind": secret, "capabilities": ["booking.read"]])
            _ = try serve.call("keys.create", ["organizationId": "org_s", "name": "n", "kind": "owner_integration", "capabilities": [secret]])
            _ = try serve.call("usage.record", ["organizationId": "org_s", "meter": secret, "amount": 1, "idempotencyKey": "i"])
            _ = try serve.call(secret, [:])
            _ = try serve.call("subscriptions.setPlan", ["organizationId": "org_s", "plan": secret, "eventId": "p\(index)",
                                                         "occurredAt": "2026-11-02T00:00:00Z"])
            _ = try serve.call("subscriptions.preview", ["organizationId": "org_s", "plan": secret])
            _ = try serve.call("keys.list", ["organizationId": "org_s", secret: 1])
            _ = try serve.call("keys.import", ["organizationId": "org_s", "keys": [[
                "name": "i", "kind": "owner_integration", "capabilities": ["booking.read"], "sha256": String(repeating: "a", count: 64),
                secret: 1,
            ]]])
            _ = try serve.result("keys.verify", ["key": secret, "capability": secret])
            if index.isMultiple(of: 3) {
                let rotated = try serve.result("keys.rotate", ["organizationId": "org_s", "keyId": keyId, "gracePeriodSeconds": 60])
                issuing.insert(serve.stdoutLines.count - 1)
                secrets.append(rotated["secret"] as! String)
            }
            if index.isMultiple(of: 4) { _ = try serve.result("keys.revoke", ["organizationId": "org_s", "keyId": keyId]) }
        }
        let audit = try serve.result("audit.list", ["organizationId": "org_s", "limit": 200])
        #expect(serve.finish() == 0)

        let files = try FileManager.default.contentsOfDirectory(at: serve.database.deletingLastPathComponent(), includingPropertiesForKeys: nil)
        let stored = try files.map { try Data(contentsOf: $0) }
        let auditText = String(decoding: try JSONSerialization.data(withJSONObject: audit), as: UTF8.self)
        #expect(serve.stderr.contains("trace") || serve.stderr.contains("debug") || !serve.stderr.isEmpty)
        for secret in secrets {
            let random = String(secret.dropFirst("kg_live_".count).prefix(32))
            for data in stored {
                #expect(data.range(of: Data(random.utf8)) == nil, "a secret is in the database files")
            }
            #expect(!serve.stderr.contains(random), "a secret is in the log")
            #expect(!auditText.contains(random), "a secret is in the audit log")
            // Answers other than the one that issued it never carry it
            // (error messages echo at most 64 characters of a bad value,
            // which the issuing answer alone had in full).
            let carriers = serve.stdoutLines.enumerated().filter { $0.element.contains(secret) }.map(\.offset)
            #expect(carriers.allSatisfy(issuing.contains), "a secret was returned twice")
        }
    }
}
