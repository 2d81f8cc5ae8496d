import Foundation
#if canImport(Glibc)
import Glibc
#endif
import KeyStore
import KeygateTestSupport
import Testing

/// The events outbox through `keygate serve`, as a product's notifier polls it.
@Suite("keygate serve: events")
struct ServeEventsTests {
    static func events(_ serve: ServeProcess, _ organization: String) throws -> [[String: Any]] {
        try serve.result("events.list", ["organizationId": organization, "limit": 200])["events"] as? [[String: Any]] ?? []
    }

    @Test(arguments: Backend.available) func anEventCommittedBeforeACrashIsReadAfterIt(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend)
        let created = try serve.proKey(organization: "org_c", rateLimit: 60)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        kill(serve.process.processIdentifier, SIGKILL)
        _ = serve.waitForExit()

        let again = try ServeProcess(sharing: serve)
        let events = try Self.events(again, "org_c")
        // The move to Pro, then the key: both committed before the kill.
        #expect(events.compactMap { $0["type"] as? String } == ["plan.changed", "key.created"])
        #expect(events.last?["keyId"] as? String == keyId)
        #expect(events.last?["message"] as? String == "Key “k” (\((created["key"] as? [String: Any])?["hint"] as? String ?? "")) was created.")
        #expect(again.finish() == 0)
    }

    /// A notifier that mails only about revoked keys asks for that type:
    /// the others never cross the pipe, its cursor still moves past them,
    /// and a type this version does not write is refused, naming those it does.
    @Test func aNotifierAsksForTheTypesItSendsAndIsToldWhichExist() throws {
        let serve = try ServeProcess()
        let created = try serve.proKey(organization: "org_t", rateLimit: 60)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        _ = try serve.result("keys.revoke", ["organizationId": "org_t", "keyId": keyId])
        _ = try serve.result("keys.delete", ["organizationId": "org_t", "keyId": keyId])

        let page = try serve.result("events.list", ["organizationId": "org_t", "types": ["key.revoked"]])
        let events = page["events"] as? [[String: Any]] ?? []
        #expect(events.compactMap { $0["type"] as? String } == ["key.revoked"])
        #expect(events.first?["keyId"] as? String == keyId && page["hasMore"] as? Bool == false)
        // Past the key.deleted read after it: polled again, nothing.
        let all = try Self.events(serve, "org_t")
        #expect(all.compactMap { $0["type"] as? String } == ["plan.changed", "key.created", "key.revoked", "key.deleted"])
        let again = try serve.result("events.list", ["organizationId": "org_t", "types": ["key.revoked"], "cursor": page["nextCursor"] as Any])
        #expect((again["events"] as? [Any])?.isEmpty == true && again["nextCursor"] as? String == page["nextCursor"] as? String)

        let unknown = try serve.call("events.list", ["types": ["key.revoked", "key.renamed"]])
        let data = (unknown["error"] as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["code"] as? String == "invalid_params" && data?["field"] as? String == "types[1]")
        #expect((data?["message"] as? String)?.contains("key.updated, key.rotated") == true)
        let empty = try serve.call("events.list", ["types": [String](), "locale": "de"])
        let refused = (empty["error"] as? [String: Any])?["data"] as? [String: Any]
        #expect(refused?["field"] as? String == "types")
        #expect(refused?["message"] as? String
            == "Der Parameter „types“ muss mindestens einen Wert nennen; weggelassen steht er für alle.")
        #expect(serve.finish() == 0)
    }

    @Test func expiryEventsAppearWithNoRequestArriving() throws {
        let serve = try ServeProcess(arguments: ["--event-sweep-seconds", "1"])
        _ = try serve.result("subscriptions.setPlan", [
            "organizationId": "org_x", "plan": "pro", "eventId": "e1", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        let expiresAt = Date().addingTimeInterval(2)
        let created = try serve.result("keys.create", [
            "organizationId": "org_x", "name": "Short-lived", "kind": "owner_integration", "capabilities": ["booking.read"],
            "expiresAt": ISO8601DateFormatter().string(from: expiresAt.addingTimeInterval(1)),
        ])
        let keyId = (created["key"] as? [String: Any])?["id"] as? String
        // Nothing is asked of the server while the key expires (reading
        // events writes none: only the server's own timer does); a loaded
        // machine gets more time, never a wrong answer.
        Thread.sleep(forTimeInterval: 5)
        var asked = Date()
        var timed = try Self.events(serve, "org_x").filter { ($0["type"] as? String)?.hasPrefix("key.expir") == true }
        for _ in 0..<15 where timed.count < 2 {
            Thread.sleep(forTimeInterval: 1)
            asked = Date()
            timed = try Self.events(serve, "org_x").filter { ($0["type"] as? String)?.hasPrefix("key.expir") == true }
        }
        #expect(timed.compactMap { $0["type"] as? String } == ["key.expiring", "key.expired"])
        #expect(timed.allSatisfy { $0["keyId"] as? String == keyId })
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        #expect(timed.compactMap { ($0["at"] as? String).flatMap(formatter.date) }.allSatisfy { $0 < asked })
        #expect(serve.finish() == 0)
    }

    /// A clock set back, for an event written as if long ago.
    struct FixedClock: WallClock {
        let date: Date
        func now() -> Date { date }
    }

    /// A process given a shorter event retention than another on the same
    /// database prunes nothing the other keeps, and says so; once the other
    /// has stopped (three sweeps on), it prunes by its own.
    @Test(arguments: Backend.available) func aShorterRetentionPrunesNothingAnotherProcessKeeps(_ backend: Backend) throws {
        let first = try ServeProcess(on: backend)
        #expect(first.finish() == 0)
        // A key created two days ago, and its event with it.
        let rules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live", "test"]), kinds: ["owner_integration"],
                             capabilities: ["booking.read"])
        let twoDaysAgo = FixedClock(date: Date.now.addingTimeInterval(-2 * 86_400))
        let storage = try first.openStorage(rules: rules, clock: twoDaysAgo)
        for name in ["old", "older"] {
            _ = try storage.create(NewKey(organizationId: "org_e", name: name, kind: "owner_integration",
                                          capabilities: ["booking.read"], environment: "live", rateLimit: 60))
        }

        let (keeping, pruning) = try ServeProcess.sweepingPair(sharing: first, secondWith: ["--event-retention-days", "1"])
        #expect(pruning.logs("another process on this database keeps events longer"), "\(pruning.stderr)")
        #expect(pruning.stderr.contains("eventRetentionDays=1 otherEventRetentionDays=30"), "\(pruning.stderr)")
        // Three more records, each before a sweep that would have pruned.
        #expect(pruning.logged("settings recorded", reaching: 4) >= 4)
        #expect(try Self.events(pruning, "org_e").count == 2)
        // Two readers: one that read the first event only, one that read both.
        let behind = try pruning.result("events.list", ["organizationId": "org_e", "limit": 1])["nextCursor"] as? String
        let read = try pruning.result("events.list", ["organizationId": "org_e"])["nextCursor"] as? String

        #expect(keeping.finish() == 0)
        #expect(pruning.logs("keeps events longer than this one"), "\(pruning.stderr)")
        // The notice and the sweep after it come in one tick: the next
        // record is after that sweep.
        let records = pruning.logged("settings recorded", reaching: 0)
        #expect(pruning.logged("settings recorded", reaching: records + 1) > records)
        #expect(try Self.events(pruning, "org_e").isEmpty)
        // The one behind is told the second event went unread; the other goes on.
        let refused = try pruning.call("events.list", ["organizationId": "org_e", "cursor": behind as Any, "locale": "pl"])
        let data = (refused["error"] as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["code"] as? String == "cursor_expired" && data?["httpStatus"] as? Int == 410, "\(refused)")
        #expect((data?["message"] as? String)?.hasPrefix("Zdarzenia po tym kursorze zostały usunięte") == true)
        let onward = try pruning.result("events.list", ["organizationId": "org_e", "cursor": read as Any])
        #expect((onward["events"] as? [Any])?.isEmpty == true && onward["nextCursor"] as? String == read)
        #expect(pruning.finish() == 0)
    }
}
