import Foundation
import KeygateTestSupport
import Testing

/// What Keygate publishes is what it does: a session touching every method,
/// its results and its refusals, held against the session's own
/// `rpc.discover` document by a real JSON Schema validator
/// (`Scripts/check-contract.py`, Python's jsonschema).
@Suite("The published contract", .serialized)
struct ContractTests {
    /// One request (or a line that is not JSON) and its reply, as recorded.
    final class Session {
        let serve: ServeProcess
        private(set) var entries: [(request: Any, reply: [String: Any])] = []
        private var id = 0

        init(_ serve: ServeProcess) { self.serve = serve }

        @discardableResult
        func call(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
            id += 1
            let request: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
            let reply = try serve.call(method, params, id: id)
            entries.append((request, reply))
            return reply
        }

        @discardableResult
        func result(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
            let reply = try call(method, params)
            return try #require(reply["result"] as? [String: Any], "\(method): \(reply)")
        }

        /// Holds every entry so far against `document` (`Scripts/check-contract.py`).
        func check(against document: [String: Any], sourceLocation: SourceLocation = #_sourceLocation) throws {
            let folder = try ScratchFolder.make("keygate-contract")
            let documentFile = folder.appending(path: "openrpc.json")
            let sessionFile = folder.appending(path: "session.jsonl")
            try JSONSerialization.data(withJSONObject: document).write(to: documentFile)
            var lines = Data()
            for entry in entries {
                lines += try JSONSerialization.data(withJSONObject: ["request": entry.request, "reply": entry.reply])
                lines += Data("\n".utf8)
            }
            try lines.write(to: sessionFile)
            let checker = try ToolRun("python3", [ServeProcess.repository.appending(path: "Scripts/check-contract.py").path,
                                                  documentFile.path, sessionFile.path])
            let report = checker.output + checker.errors
            #expect(checker.status == 0, "\(report.prefix(4_000))", sourceLocation: sourceLocation)
            #expect(report.contains("\(entries.count) replies checked, 0 problems"), "\(report.suffix(500))",
                    sourceLocation: sourceLocation)
        }

        func raw(_ line: String) throws {
            serve.send(line)
            let reply = try JSONSerialization.jsonObject(with: Data(try serve.nextLine().utf8)) as! [String: Any]
            entries.append(((try? JSONSerialization.jsonObject(with: Data(line.utf8))) ?? NSNull(), reply))
        }
    }

    @Test func everyAnswerOfASessionMatchesThePublishedDocument() throws {
        let serve = try ServeProcess()
        let session = Session(serve)
        let document = try session.result("rpc.discover")
        let org: [String: Any] = ["organizationId": "org_contract"]
        func with(_ extra: [String: Any]) -> [String: Any] { org.merging(extra) { $1 } }

        try session.result("catalog.plans")
        try session.result("health.check")
        try session.result("catalog.capabilities")
        try session.result("subscriptions.get", org)
        try session.result("keys.options", org)
        try session.call("keys.create", with(["name": "n", "kind": "owner_integration", "capabilities": ["booking.read"]]))
        try session.result("subscriptions.preview", with(["plan": "pro"]))
        let event: [String: Any] = [
            "plan": "pro", "eventId": "evt_c1", "occurredAt": "2026-11-22T10:00:00Z",
            "periodStart": "2026-11-15T00:00:00Z", "periodEnd": "2026-12-15T00:00:00Z",
        ]
        try session.result("subscriptions.setPlan", with(event))
        try session.result("subscriptions.setPlan", with(event))
        try session.call("subscriptions.setPlan", with(["plan": "pro", "eventId": "evt_c1", "occurredAt": "2026-11-22T10:00:00Z"]))
        try session.result("subscriptions.setPlan", with(["plan": "starter", "eventId": "evt_c0", "occurredAt": "2026-11-01T10:00:00Z"]))
        try session.call("subscriptions.setPlan", with(["plan": "pro", "eventId": "evt_future", "occurredAt": "2099-01-01T00:00:00Z"]))
        try session.call("subscriptions.setPlan", with(["plan": "pro", "eventId": "evt_bad", "occurredAt": "2026-11-22T10:00:00Z",
                                                        "status": "paused"]))
        try session.result("keys.options", org)

        let owner = try session.result("keys.create", with([
            "name": "Zapier", "kind": "owner_integration", "capabilities": ["booking.read", "subscription.read"],
            "allowedOrigins": ["https://shop.example"], "rateLimit": 2,
        ]))
        let ownerKey = try #require(owner["key"] as? [String: Any])
        let ownerId = try #require(ownerKey["id"] as? String)
        let secret = try #require(owner["secret"] as? String)
        let partner = try session.result("keys.create", with([
            "name": "Partner", "kind": "booking_partner", "capabilities": ["booking.create"], "environment": "test",
        ]))
        let partnerSecret = try #require(partner["secret"] as? String)
        try session.call("keys.create", with(["name": "Bad", "kind": "booking_partner", "capabilities": ["webhook.manage"]]))
        try session.call("keys.create", with(["name": "Bad", "kind": "nope", "capabilities": ["booking.read"]]))
        try session.call("keys.create", with(["name": "Bad\u{7}", "kind": "owner_integration", "capabilities": ["booking.read"]]))
        try session.call("keys.create", with(["name": "Bad", "kind": "owner_integration", "capabilities": "booking.read"]))
        try session.call("keys.create", with(["name": "Bad", "kind": "owner_integration", "capabilities": ["booking.read"], "colour": 1]))

        try session.result("keys.list", org)
        try session.result("keys.list", with(["limit": 1]))
        try session.call("keys.list", with(["status": "paused"]))
        try session.result("keys.get", with(["keyId": ownerId]))
        try session.call("keys.get", with(["keyId": "key_doesnotexist"]))
        try session.result("keys.update", with(["keyId": ownerId, "name": "Zapier 2", "expiresAt": "2027-01-01T00:00:00.123456Z"]))

        // Verification, one outcome after another.
        try session.result("keys.verify", ["key": secret, "capability": "booking.read", "origin": "https://shop.example"])
        try session.result("keys.verify", ["key": secret, "capability": "booking.read", "origin": "https://shop.example"])
        try session.result("keys.verify", ["key": secret, "capability": "booking.read", "origin": "https://shop.example"])
        try session.result("keys.verify", ["key": secret, "capability": "booking.read"])
        try session.result("keys.verify", ["key": secret, "capability": "webhook.manage", "origin": "https://shop.example"])
        try session.result("keys.verify", ["authorization": "Basic dXNlcjpwYXNz", "capability": "booking.read"])
        try session.result("keys.verify", ["authorization": "", "capability": "booking.read"])
        try session.result("keys.verify", ["key": "kg_live_00000000000000000000000000000000", "capability": "booking.read"])
        try session.result("keys.verify", ["key": partnerSecret, "method": "GET", "path": "/bookings"])
        try session.result("keys.verify", ["authorization": "Bearer \(partnerSecret)"])
        try session.call("keys.verify", ["key": secret, "authorization": "Bearer \(secret)", "capability": "booking.read"])
        try session.call("keys.verify", ["key": secret, "path": "/bookings"])
        try session.call("keys.verify", ["key": secret, "capability": "booking.read", "cost": 1001])

        try session.result("subscriptions.quotas", org)
        try session.result("subscriptions.quotas", ["key": secret])
        try session.call("subscriptions.quotas", ["key": partnerSecret])
        try session.call("subscriptions.quotas", ["key": "kg_live_nope"])
        try session.result("usage.record", with(["meter": "bookings", "amount": 3, "idempotencyKey": "b1"]))
        try session.result("usage.record", with(["meter": "bookings", "amount": 3, "idempotencyKey": "b1"]))
        try session.call("usage.record", with(["meter": "bookings", "amount": 3, "idempotencyKey": "b1", "reserve": true]))
        try session.call("usage.record", with(["meter": "bookings", "amount": 1_000_000, "idempotencyKey": "b2", "reserve": true]))
        try session.call("usage.record", with(["meter": "api.requests", "amount": 1, "idempotencyKey": "b3"]))
        try session.result("usage.get", with(["from": "2026-11-01", "to": "2026-12-31"]))
        try session.result("usage.get", with(["keyId": ownerId, "from": "2026-11-01", "to": "2026-12-31"]))
        try session.result("subscriptions.preview", with(["plan": "free"]))

        let rotated = try session.result("keys.rotate", with(["keyId": ownerId, "gracePeriodSeconds": 60]))
        #expect(rotated["previousSecretExpiresAt"] is String)
        try session.result("keys.rotate", with(["keyId": ownerId]))
        // Sent again under an idempotency key: the refusals that say so.
        try session.result("keys.rotate", with(["keyId": ownerId, "idempotencyKey": "contract-rotate"]))
        try session.call("keys.rotate", with(["keyId": ownerId, "idempotencyKey": "contract-rotate"]))
        try session.call("keys.rotate", with(["keyId": ownerId, "gracePeriodSeconds": 5, "idempotencyKey": "contract-rotate"]))
        try session.call("keys.rotate", with(["keyId": ownerId, "idempotencyKey": ""]))
        let sentTwice = with(["name": "Twice", "kind": "owner_integration", "capabilities": ["booking.read"],
                              "idempotencyKey": "contract-create"])
        let made = try session.result("keys.create", sentTwice)
        try session.call("keys.create", sentTwice)
        try session.call("keys.create", sentTwice.merging(["name": "Thrice"]) { $1 })
        try session.result("keys.delete", with(["keyId": (made["key"] as? [String: Any])?["id"] as? String ?? ""]))
        try session.result("keys.import", with(["keys": [
            ["name": "Old", "kind": "owner_integration", "capabilities": ["booking.read"],
             "sha256": "e12f3f65cc37520bbbcdbd2b526d9d943b9fa3d8536adb5a4c329b7d41378614", "createdAt": "2025-01-01T00:00:00Z"],
            ["name": "Old", "kind": "owner_integration", "capabilities": ["booking.read"],
             "sha256": "e12f3f65cc37520bbbcdbd2b526d9d943b9fa3d8536adb5a4c329b7d41378614"],
            ["name": "Bad", "kind": "owner_integration", "capabilities": ["booking.read"], "sha256": "00"],
            ["name": "Bad", "kind": "owner_integration", "capabilities": ["booking.read"], "key": "sk_live_1234567890abcdef"],
        ]]))
        try session.call("keys.import", with(["keys": [["name": "Both", "kind": "owner_integration", "capabilities": ["booking.read"],
                                                         "key": "x", "sha256": "y"]]]))
        try session.result("keys.reportLeaked", ["keys": [["key": partnerSecret, "location": "https://example.com/paste/1"],
                                                          ["key": "kg_live_nope"]], "action": "flag"])
        try session.call("keys.reportLeaked", ["keys": [["key": partnerSecret]], "action": "delete"])
        let health = try session.result("health.check", ["locale": "pl"])
        #expect(health["status"] as? String == "pass", "\(health)")
        #expect((health["verification"] as? [String: Any])?["verifications"] as? Int ?? 0 >= 5, "\(health)")
        try session.result("keys.revoke", with(["keyId": ownerId]))
        try session.result("keys.verify", ["key": secret, "capability": "booking.read"])
        try session.call("keys.update", with(["keyId": ownerId, "name": "again"]))
        try session.result("subscriptions.setPlan", with(["plan": "pro", "eventId": "evt_c2", "occurredAt": "2026-11-23T10:00:00Z",
                                                          "status": "canceled"]))
        try session.result("subscriptions.get", org)
        try session.result("subscriptions.quotas", org)
        try session.result("audit.list", with(["limit": 2]))
        try session.result("audit.list", org)
        try session.result("audit.list", with(["keyId": ownerId, "limit": 1]))
        try session.result("keys.delete", with(["keyId": ownerId]))
        let events = try session.result("events.list", with(["limit": 3]))
        try session.result("events.list", with(["cursor": events["nextCursor"] as Any]))
        try session.result("organizations.erase", ["organizationId": "org_erased", "actor": "support@example.com"])
        try session.call("organizations.erase", ["organizationId": "", "actor": "support@example.com"])
        try session.call("organizations.erase", ["organizationId": "org_erased", "actor": ""])
        try session.result("events.list", ["limit": 1])
        try session.call("events.list", ["cursor": "nope"])
        let revoked = try session.result("events.list", with(["types": ["key.revoked", "key.deleted"], "limit": 1]))
        try session.result("events.list", ["types": ["key.revoked"], "cursor": revoked["nextCursor"] as Any])
        try session.call("events.list", ["types": []])
        try session.call("events.list", ["types": ["key.made"]])
        try session.call("subscriptions.get", ["organizationId": "org e"])
        try session.call("keys.nope", org)
        try session.raw(#"{"jsonrpc":"2.0","id":99,"method":"keys.list","params":{"organizationId":"org_contract""#)
        try session.raw(#"{"jsonrpc":"2.0","id":100}"#)
        #expect(serve.finish() == 0)

        try session.check(against: document)
    }

    /// The JSON-RPC examples of the README and docs/ (requests, results,
    /// errors) hold against the document the server publishes
    /// (`Scripts/check-doc-examples.py`): an example a reader copies is
    /// one the server takes, and an answer it shows is one it gives.
    @Test func theDocsExamplesMatchThePublishedDocument() throws {
        let serve = try ServeProcess()
        let document = try serve.call("rpc.discover")["result"] as? [String: Any]
        #expect(serve.finish() == 0)
        let folder = try ScratchFolder.make("keygate-doc-examples")
        let documentFile = folder.appending(path: "openrpc.json")
        try JSONSerialization.data(withJSONObject: try #require(document)).write(to: documentFile)
        let root = ServeProcess.repository
        let pages = ["README.md"] + (try FileManager.default.contentsOfDirectory(atPath: root.appending(path: "docs").path))
            .filter { $0.hasSuffix(".md") }.sorted().map { "docs/\($0)" }
        let checker = try ToolRun("python3", [root.appending(path: "Scripts/check-doc-examples.py").path, documentFile.path]
                                  + pages.map { root.appending(path: $0).path })
        #expect(checker.status == 0, "\(checker.output)\(checker.errors)")
        #expect(checker.output.contains(", 0 problems"), "\(checker.output)")
    }

    /// Every event type, read through `events.list`, has the `data` the
    /// published document gives its type (`EventDataSchema`): what a
    /// product's notifier is written against. Expiry events come from the
    /// server's sweep, once a second here; the test reads until every
    /// type is there (at most 20 s).
    @Test func everyEventTypesDataIsAsPublished() throws {
        let serve = try ServeProcess(arguments: ["--event-sweep-seconds", "1"])
        let session = Session(serve)
        let document = try session.result("rpc.discover")
        let org: [String: Any] = ["organizationId": "org_events"]
        func with(_ extra: [String: Any]) -> [String: Any] { org.merging(extra) { $1 } }
        func plan(_ plan: String, _ event: String) throws {
            try session.result("subscriptions.setPlan", with(["plan": plan, "eventId": event,
                                                              "occurredAt": RFC3339Text.now(offset: 0)]))
        }
        try plan("pro", "evt_e1")
        func create(_ name: String, _ extra: [String: Any] = [:]) throws -> (id: String, secret: String) {
            let created = try session.result("keys.create", with(["name": name, "kind": "owner_integration",
                                                                   "capabilities": ["booking.read"]]).merging(extra) { $1 })
            return (try #require((created["key"] as? [String: Any])?["id"] as? String), try #require(created["secret"] as? String))
        }
        let rotated = try create("Rotated")
        try session.result("keys.update", with(["keyId": rotated.id, "name": "Rotated soon", "rateLimit": 30,
                                                "expiresAt": RFC3339Text.now(offset: 86_400 * 30)]))
        try session.result("keys.rotate", with(["keyId": rotated.id, "gracePeriodSeconds": 60]))
        // Its old secret, in its grace period, reported: the event names it and its deadline.
        try session.result("keys.reportLeaked", ["keys": [["key": rotated.secret]], "action": "flag"])
        // Then stopped, as such a report calls for: the event names the secret stopped.
        try session.result("keys.stopPreviousSecrets", with(["keyId": rotated.id]))
        let leaked = try create("Leaked")
        try session.result("keys.reportLeaked", ["keys": [["key": leaked.secret, "location": "https://paste.example/1"]]])
        let deleted = try create("Deleted")
        try session.result("keys.delete", with(["keyId": deleted.id]))
        _ = try create("Expiring", ["expiresAt": RFC3339Text.now(offset: 2)])
        try session.result("keys.import", with(["keys": [["name": "Old", "kind": "owner_integration", "capabilities": ["booking.read"],
                                                          "sha256": String(repeating: "ab", count: 32)]]]))
        try plan("free", "evt_e2")
        // Free counts bookings against a limit (Pro does not): all of it at once crosses 80% and 100%.
        let quotas = try #require(try session.result("subscriptions.quotas", org)["quotas"] as? [[String: Any]])
        let bookings = try #require(quotas.first { $0["id"] as? String == "bookings" })
        let limit = try #require(bookings["limit"] as? Int)
        try session.result("usage.record", with(["meter": "bookings", "amount": limit, "idempotencyKey": "all-of-it"]))
        try plan("pro", "evt_e3")
        // Another organization's erasure: its event is all that is left of it.
        try session.result("organizations.erase", ["organizationId": "org_events_gone"])

        var seen: Set<String> = []
        var cursor: Any = NSNull()
        let deadline = Date().addingTimeInterval(20)
        while seen.count < 15, Date() < deadline {
            let page = try session.result("events.list", ["cursor": cursor, "limit": 200])
            for event in page["events"] as? [[String: Any]] ?? [] { seen.insert(event["type"] as? String ?? "") }
            cursor = page["nextCursor"] ?? NSNull()
            if seen.count < 15 { Thread.sleep(forTimeInterval: 0.2) }
        }
        #expect(serve.finish() == 0)
        #expect(seen == ["key.created", "key.imported", "key.updated", "key.rotated", "key.previous_secrets_stopped", "key.revoked", "key.deleted", "key.leak_reported",
                         "plan.changed", "keys.suspended", "keys.restored", "key.expiring", "key.expired", "quota.threshold",
                         "organization.erased"], "\(seen)")
        try session.check(against: document)
    }

    /// What rpc.discover publishes of each method's params is held against
    /// what the server does with params generated from those very schemas
    /// (`Scripts/generate-params.py`, hypothesis-jsonschema): 40 a method,
    /// of every type the schema allows, null where it allows it, strings
    /// in any script, integers of any size, and about half the time a real
    /// value (the organization's id, its keys' ids and secrets, the
    /// catalog's names), so that requests reach past the first check.
    /// Every answer goes through the
    /// same checks as a session's; on top, no request the schema accepts
    /// is refused as malformed params, except by the rules between two
    /// params that PROTOCOL.md states and a schema of one param cannot
    /// (`key` or `authorization`, `method` with `path`, …). It found
    /// `locale: null` refused by every method, and `rateLimit: 1e30` told
    /// to be a whole number.
    @Test(arguments: Backend.available)
    func paramsGeneratedFromThePublishedSchemasAreAnsweredAsPublished(_ backend: Backend) throws {
        let probe = try ToolRun("python3", ["-c", "import hypothesis_jsonschema"])
        guard probe.succeeded || Backend.isCI else {
            print("skipped: the generated-params contract test needs hypothesis-jsonschema (pip install hypothesis-jsonschema; .ci/run installs it)")
            return
        }
        let serve = try ServeProcess(on: backend)
        let session = Session(serve)
        let document = try session.result("rpc.discover")
        let folder = try ScratchFolder.make("keygate-generated")
        let documentFile = folder.appending(path: "openrpc.json")
        try JSONSerialization.data(withJSONObject: document).write(to: documentFile)
        // Real values to mix in: an organization on Pro with three keys, and the catalog's names.
        let organization = "org_generated"
        try session.result("subscriptions.setPlan", ["organizationId": organization, "plan": "pro", "eventId": "evt_generated",
                                                     "occurredAt": "2026-11-01T00:00:00Z"])
        var ids: [String] = [], secrets: [String] = []
        for name in ["Zapier", "Make", "Widget"] {
            let created = try session.result("keys.create", ["organizationId": organization, "name": name,
                                                             "kind": "owner_integration", "capabilities": ["booking.read"]])
            ids.append(try #require((created["key"] as? [String: Any])?["id"] as? String))
            secrets.append(try #require(created["secret"] as? String))
        }
        let plans = try #require(try session.result("catalog.plans")["plans"] as? [[String: Any]])
        let catalog = try session.result("catalog.capabilities")
        let kinds = (catalog["kinds"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        let capabilities = (catalog["capabilities"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String }
        let meters = Set(plans.flatMap { ($0["quotas"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? String } })
        let hints: [String: [String]] = [
            "organizationId": [organization], "keyId": ids, "key": secrets, "authorization": secrets.map { "Bearer \($0)" },
            "plan": plans.compactMap { $0["id"] as? String }, "kind": kinds, "capabilities": capabilities,
            "capability": capabilities, "meter": meters.sorted(), "environment": ["live", "test"],
            "name": ["Zapier"], "origin": ["https://shop.example"], "allowedOrigins": ["https://shop.example"],
        ]
        let hintsFile = folder.appending(path: "hints.json")
        try JSONSerialization.data(withJSONObject: hints).write(to: hintsFile)
        let generator = try ToolRun("python3", [ServeProcess.repository.appending(path: "Scripts/generate-params.py").path,
                                                documentFile.path, "40", hintsFile.path])
        try #require(generator.succeeded, "\(generator.errors)")
        let requests = generator.output.split(separator: "\n")
        let methods = try #require(document["methods"] as? [Any])
        #expect(requests.count == 40 * (methods.count - 1), "one method, rpc.discover, is left out")

        // The refusals between two params: a field each, by method.
        let betweenTwo: [String: [String]] = [
            "keys.verify": ["key", "authorization", "method", "path"],
            "subscriptions.quotas": ["organizationId", "key"],
            "keys.import": ["key", "sha256"],
        ]
        var refusedOwnSchema: [String] = []
        for line in requests {
            try session.raw(String(line))
            let (request, reply) = try #require(session.entries.last)
            let method = (request as? [String: Any])?["method"] as? String ?? ""
            let error = reply["error"] as? [String: Any]
            let data = error?["data"] as? [String: Any]
            #expect(error?["code"] as? Int != -32603, "\(line): \(reply)")
            guard data?["code"] as? String == "invalid_params" else { continue }
            let field = data?["field"] as? String ?? ""
            // `keys[3].sha256` is the member `sha256`.
            let member = String(field.split(separator: ".").last ?? "")
            if !(betweenTwo[method] ?? []).contains(member) {
                refusedOwnSchema.append("\(line.prefix(300)) → \(reply)")
            }
        }
        #expect(serve.finish() == 0)
        #expect(refusedOwnSchema.isEmpty, "\(refusedOwnSchema.prefix(5).joined(separator: "\n"))")

        try session.check(against: document)
    }
}

/// Times as requests write them, from this host's clock.
enum RFC3339Text {
    static func now(offset seconds: TimeInterval) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.string(from: Date().addingTimeInterval(seconds))
    }
}
