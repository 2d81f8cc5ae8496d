import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// The whole story a caller lives through, against the real executable.
@Suite("keygate serve end to end", .serialized)
struct ServeStoryTests {
    @Test(arguments: Backend.available) func anOrganizationGoesFromRefusedToVerifiedToRevokedToDeleted(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend)
        let org: [String: Any] = ["organizationId": "org_story"]
        let createParams: [String: Any] = org.merging(["name": "Zapier", "kind": "owner_integration",
                                                        "capabilities": ["booking.read", "booking.create"]]) { $1 }

        // Free: refused, naming the plan that would allow it.
        let refused = try serve.call("keys.create", createParams)
        let refusal = try #require((refused["error"] as? [String: Any])?["data"] as? [String: Any])
        #expect(refusal["code"] as? String == "plan_forbids_api_keys")
        #expect((refusal["message"] as? String)?.contains("Pro") == true)
        #expect(refusal["httpStatus"] as? Int == 403)

        // Billing moves the organization to Pro.
        let moved = try serve.result("subscriptions.setPlan", org.merging([
            "plan": "pro", "eventId": "evt_story_1", "occurredAt": "2026-11-22T10:00:00Z",
        ]) { $1 })
        #expect(moved["applied"] as? Bool == true)

        let created = try serve.result("keys.create", createParams)
        let secret = try #require(created["secret"] as? String)
        let key = try #require(created["key"] as? [String: Any])
        let keyId = try #require(key["id"] as? String)
        #expect(secret.hasPrefix("kg_live_"))

        let valid = try serve.result("keys.verify", ["authorization": "Bearer \(secret)", "capability": "booking.read"])
        #expect(valid["valid"] as? Bool == true && valid["httpStatus"] as? Int == 200)
        #expect(valid["keyId"] as? String == keyId)

        // Lists show the hint, never the secret.
        let listed = try #require(try serve.result("keys.list", org)["keys"] as? [[String: Any]])
        #expect(listed.count == 1)
        #expect(listed[0]["hint"] as? String == "kg_live_…" + secret.suffix(4))
        #expect(!serve.stdoutLines.dropFirst(3).joined().contains(secret.dropFirst(8).prefix(12)))

        let rotated = try serve.result("keys.rotate", org.merging(["keyId": keyId]) { $1 })
        let newSecret = try #require(rotated["secret"] as? String)
        #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["code"] as? String == "not_found")
        #expect(try serve.result("keys.verify", ["key": newSecret, "capability": "booking.read"])["valid"] as? Bool == true)

        let revoked = try serve.result("keys.revoke", org.merging(["keyId": keyId]) { $1 })
        #expect(revoked["status"] as? String == "revoked")
        let afterRevoke = try serve.result("keys.verify", ["key": newSecret, "capability": "booking.read"])
        #expect(afterRevoke["code"] as? String == "revoked" && afterRevoke["httpStatus"] as? Int == 401)

        #expect(try serve.result("keys.delete", org.merging(["keyId": keyId]) { $1 })["deleted"] as? Bool == true)
        let gone = try serve.call("keys.get", org.merging(["keyId": keyId]) { $1 })
        #expect(((gone["error"] as? [String: Any])?["data"] as? [String: Any])?["code"] as? String == "not_found")

        let audit = try #require(try serve.result("audit.list", org)["entries"] as? [[String: Any]])
        #expect(audit.compactMap { $0["action"] as? String } == [
            "key.deleted", "key.revoked", "key.rotated", "key.created", "subscription.changed",
        ])

        #expect(serve.finish() == 0)
        // The secrets were printed once each, in the answers that created them, and nowhere else.
        let everything = serve.stdoutLines.joined(separator: "\n")
        #expect(everything.components(separatedBy: secret).count == 2)
        #expect(everything.components(separatedBy: newSecret).count == 2)
        #expect(!serve.stderr.contains(secret) && !serve.stderr.contains(newSecret))
        for line in serve.stdoutLines {
            let frame = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(frame?["jsonrpc"] as? String == "2.0", "stdout carries protocol frames only: \(line)")
        }
    }

    @Test(arguments: Backend.available) func everyMethodAnswers(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend, arguments: ["--locale", "pl"])
        let org: [String: Any] = ["organizationId": "org_all"]
        func with(_ extra: [String: Any]) -> [String: Any] { org.merging(extra) { $1 } }

        #expect((try serve.result("catalog.plans")["plans"] as? [[String: Any]])?.count == 3)
        #expect((try serve.result("catalog.capabilities")["kinds"] as? [[String: Any]])?.count == 2)
        #expect(try serve.result("subscriptions.get", org)["plan"] as? String == "free")
        let options = try serve.result("keys.options", org)
        #expect(options["canCreate"] as? Bool == false)
        #expect((options["reason"] as? String)?.hasPrefix("Klucze API nie są dostępne") == true)
        _ = try serve.result("subscriptions.setPlan", with(["plan": "pro", "eventId": "e1", "occurredAt": "2026-11-01T00:00:00Z"]))
        let preview = try serve.result("subscriptions.preview", with(["plan": "starter"]))
        #expect(preview["suspendedKeys"] as? [String] == [])
        let created = try serve.result("keys.create", with([
            "name": "Reader", "kind": "owner_integration", "capabilities": ["subscription.read"],
            "allowedOrigins": ["https://app.example"], "rateLimit": 120, "environment": "test",
        ]))
        let secret = try #require(created["secret"] as? String)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        #expect((created["key"] as? [String: Any])?["lastUsedText"] as? String == "Nigdy")
        #expect(try serve.result("keys.get", with(["keyId": keyId]))["environment"] as? String == "test")
        #expect(try serve.result("keys.update", with(["keyId": keyId, "name": "Reader 2"]))["name"] as? String == "Reader 2")
        let existing = KeyFormat(prefix: "kg", environments: ["live", "test"]).generate(environment: "live").unredacted
        let imported = try serve.result("keys.import", with(["keys": [
            ["name": "From before", "kind": "owner_integration", "capabilities": ["booking.read"], "key": existing],
        ]]))
        #expect((imported["results"] as? [[String: Any]])?.first?["status"] as? String == "imported")
        #expect(try serve.result("keys.verify", ["key": existing, "capability": "booking.read"])["valid"] as? Bool == true)
        let byKey = try serve.result("subscriptions.quotas", ["key": secret])
        #expect(byKey["plan"] as? String == "pro")
        let quotas = try serve.result("subscriptions.quotas", org)
        #expect((quotas["quotas"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == ["api.requests", "keys.active", "bookings"])
        let recorded = try serve.result("usage.record", with(["meter": "bookings", "amount": 3, "idempotencyKey": "b-1"]))
        #expect(recorded["used"] as? Int == 3)
        let verified = try serve.result("keys.verify", [
            "key": secret, "capability": "subscription.read", "origin": "https://app.example", "ip": "192.0.2.1",
        ])
        #expect(verified["valid"] as? Bool == true && verified["message"] as? String == "Klucz jest prawidłowy.")
        let days = try serve.result("usage.get", with(["from": "2026-01-01", "to": "2026-12-31"]))
        #expect(days["days"] is [Any])
        #expect((try serve.result("audit.list", with(["limit": 2]))["entries"] as? [Any])?.count == 2)
        let rotated = try serve.result("keys.rotate", with(["keyId": keyId, "gracePeriodSeconds": 60]))
        #expect(rotated["previousSecretExpiresAt"] is String)
        #expect(((rotated["key"] as? [String: Any])?["previousSecrets"] as? [Any])?.count == 1)
        let stopped = try serve.result("keys.stopPreviousSecrets", with(["keyId": keyId]))
        #expect((stopped["previousSecrets"] as? [Any])?.isEmpty == true && stopped["status"] as? String == "active")
        let newSecret = try #require(rotated["secret"] as? String)
        #expect(try serve.result("keys.revoke", with(["keyId": keyId]))["statusText"] as? String == "Unieważniony")
        #expect(try serve.result("keys.delete", with(["keyId": keyId]))["deleted"] as? Bool == true)
        let events = try serve.result("events.list", with(["limit": 200]))
        #expect((events["events"] as? [[String: Any]])?.compactMap { $0["type"] as? String }
            == ["plan.changed", "key.created", "key.updated", "key.imported", "key.rotated", "key.previous_secrets_stopped",
                "key.revoked", "key.deleted"])
        #expect((events["events"] as? [[String: Any]])?.first?["message"] as? String == "Organizacja przeszła z planu Bezpłatny na plan Pro.")
        #expect((events["events"] as? [[String: Any]])?[1]["message"] as? String == "Utworzono klucz „Reader” (kg_test_…\(secret.suffix(4))).")
        #expect((events["events"] as? [[String: Any]])?[2]["message"] as? String
            == "Zmieniono klucz „Reader 2” (kg_test_…\(secret.suffix(4))): nazwa.")
        #expect((events["events"] as? [[String: Any]])?[5]["message"] as? String == """
            Zatrzymano 1 wcześniejszy sekret klucza „Reader 2” (kg_test_…\(newSecret.suffix(4))) przed końcem okresu przejściowego; \
            klucz działa z obecnym sekretem.
            """)
        let health = try serve.result("health.check")
        #expect(health["status"] as? String == "pass" && health["httpStatus"] as? Int == 200, "\(health)")
        _ = try serve.result("keys.create", with(["name": "Last", "kind": "owner_integration", "capabilities": ["booking.read"]]))
        let erased = try serve.result("organizations.erase", with(["actor": "support"]))
        #expect(erased["erased"] as? Bool == true && erased["keys"] as? Int == 2, "\(erased)")
        #expect((try serve.result("keys.list", org)["keys"] as? [Any])?.isEmpty == true)
        let left = try serve.result("events.list", with(["limit": 200]))["events"] as? [[String: Any]]
        #expect(left?.map { $0["message"] as? String } == [
            "Usunięto organizację i wszystko, co Keygate o niej przechowywał, w tym 2 klucze.",
        ])
        #expect((try serve.result("rpc.discover")["methods"] as? [Any])?.count == 25)
        #expect(serve.finish() == 0)
    }
}

@Suite("The README's Python client")
struct PythonClientTests {
    /// Examples/client.py is the README's example of driving keygate from
    /// another language; it must keep working.
    @Test func thePythonClientCreatesAndVerifiesAKey() throws {
        let directory = try ScratchFolder.make("keygate-py")
        defer { try? FileManager.default.removeItem(at: directory) }
        let run = try ToolRun("python3", [ServeProcess.repository.appending(path: "Examples/client.py").path,
                                          ServeProcess.executable.path, "serve"], in: directory)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output == "valid\n")
    }

    /// Examples/notifier.py is the README's example of reading the outbox:
    /// the types it mails about, each once, and nothing again on its next
    /// run, from the cursor it kept.
    @Test func theNotifierDeliversTheTypesItSendsAndGoesOnFromItsCursor() throws {
        let directory = try ScratchFolder.make("keygate-notifier")
        defer { try? FileManager.default.removeItem(at: directory) }
        let serve = try ServeProcess(database: directory.appending(path: "keygate.sqlite"))
        let created = try serve.proKey(organization: "org_n", rateLimit: 60)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        _ = try serve.result("keys.revoke", ["organizationId": "org_n", "keyId": keyId])
        #expect(serve.finish() == 0)

        let cursor = directory.appending(path: "cursor").path
        func notify() throws -> ToolRun {
            try ToolRun("python3", [ServeProcess.repository.appending(path: "Examples/notifier.py").path, cursor, "--once",
                                    ServeProcess.executable.path, "serve", "--database", serve.database.path], in: directory)
        }
        let first = try notify()
        #expect(first.status == 0, "\(first.errors)")
        let delivered = first.output.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
        #expect(delivered.compactMap { $0["type"] as? String } == ["key.revoked"], "\(first.output)")
        #expect((delivered.first?["subject"] as? String)?.hasSuffix("was revoked.") == true)
        #expect(FileManager.default.fileExists(atPath: cursor))
        let again = try notify()
        #expect(again.status == 0 && again.output.isEmpty, "\(again.output)\(again.errors)")
    }

    /// Stopped for longer than the outbox keeps events, the notifier is
    /// told its cursor expired, says so, and starts over from the oldest
    /// event kept; once over, it is not told again.
    @Test func theNotifierLeftBehindTheRetentionStartsOver() throws {
        let directory = try ScratchFolder.make("keygate-notifier-behind")
        defer { try? FileManager.default.removeItem(at: directory) }
        let first = try ServeProcess(database: directory.appending(path: "keygate.sqlite"))
        #expect(first.finish() == 0)
        // Two keys revoked two days ago, their events with them.
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live", "test"]), kinds: ["owner_integration"],
                             capabilities: ["booking.read"])
        let storage = try first.openStorage(rules: rules, clock: ServeEventsTests.FixedClock(date: Date.now.addingTimeInterval(-2 * 86_400)))
        for name in ["one", "two"] {
            let key = try storage.create(NewKey(organizationId: "org_n", name: name, kind: "owner_integration",
                                                capabilities: ["booking.read"], environment: "live", rateLimit: 60)).key
            _ = try storage.revoke(id: key.id, organizationId: "org_n", actor: nil)
        }
        // A notifier that delivered the first revocation, then stopped.
        let cursor = directory.appending(path: "cursor")
        let reader = try ServeProcess(sharing: first)
        let delivered = try reader.result("events.list", ["types": ["key.revoked"], "limit": 1])["nextCursor"] as? String
        #expect(reader.finish() == 0)
        try Data((delivered ?? "").utf8).write(to: cursor)

        // A process keeping events for a day prunes both.
        let pruning = try ServeProcess(sharing: first, arguments: ["--event-retention-days", "1", "--event-sweep-seconds", "1"])
        var left = 4
        for _ in 0..<100 where left > 0 {
            left = (try pruning.result("events.list", [:])["events"] as? [Any])?.count ?? 0
            if left > 0 { Thread.sleep(forTimeInterval: 0.1) }
        }
        #expect(left == 0 && pruning.finish() == 0)

        func notify() throws -> ToolRun {
            try ToolRun("python3", [ServeProcess.repository.appending(path: "Examples/notifier.py").path, cursor.path, "--once",
                                    ServeProcess.executable.path, "serve", "--database", first.database.path], in: directory)
        }
        let behind = try notify()
        #expect(behind.status == 0 && behind.output.isEmpty, "\(behind.output)\(behind.errors)")
        #expect(behind.errors.contains("notifier: Events after this cursor were deleted"), "\(behind.errors)")
        let over = try notify()
        #expect(over.status == 0 && over.output.isEmpty && !over.errors.contains("notifier:"), "\(over.errors)")
    }
}
