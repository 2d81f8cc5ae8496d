import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import KeygateTestSupport
import Testing

/// Issue 8, crash safety: `keygate serve` is killed with SIGKILL at random
/// moments during a stream of creates, rotations, revocations, plan changes
/// and verifications; after each kill a fresh process on the same file must
/// find every answered creation and revocation intact, no half-written key,
/// and a sound database. `swift test` runs 12 kills; `Scripts/crash-harness.sh`
/// runs 300 (KEYGATE_CRASH_KILLS).
@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    struct Acknowledged {
        /// Key id → its newest answered secret, and whether it is revoked:
        /// `true` once a revocation was answered, `nil` while one was sent
        /// but not answered when the kill came (it may or may not have happened).
        var keys: [String: (organization: String, secret: String, revoked: Bool?)] = [:]
    }

    @Test func everyAnsweredChangeSurvivesSIGKILL() throws {
        let kills = Int(ProcessInfo.processInfo.environment["KEYGATE_CRASH_KILLS"] ?? "") ?? 12
        var random = SeededRandom(seed: UInt64(ProcessInfo.processInfo.environment["KEYGATE_CRASH_SEED"] ?? "") ?? 2026)
        let directory = try ScratchFolder.make("keygate-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appending(path: "keygate.sqlite")
        var acknowledged = Acknowledged()

        for round in 0..<kills {
            let serve = try ServeProcess(database: database)
            // Replies are matched to requests by id; a request without a
            // reply when the kill comes may or may not have happened.
            var pending: [Int: (String, [String: Any])] = [:]
            var nextId = 0
            func send(_ method: String, _ params: [String: Any]) throws {
                nextId += 1
                pending[nextId] = (method, params)
                let body: [String: Any] = ["jsonrpc": "2.0", "id": nextId, "method": method, "params": params]
                serve.send(String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
            }
            let organizations = (0..<3).map { "org_\(round)_\($0)" }
            for organization in organizations {
                try send("subscriptions.setPlan", ["organizationId": organization, "plan": "pro",
                                                   "eventId": "evt_\(organization)", "occurredAt": "2026-11-01T00:00:00Z"])
            }
            for index in 0..<40 {
                let organization = organizations[index % organizations.count]
                try send("keys.create", ["organizationId": organization, "name": "k\(index)", "kind": "owner_integration",
                                         "capabilities": ["booking.read"]])
                if let (id, key) = acknowledged.keys.randomElement(using: &random) {
                    switch random.next() % 4 {
                    case 0: try send("keys.rotate", ["organizationId": key.organization, "keyId": id])
                    case 1: try send("keys.revoke", ["organizationId": key.organization, "keyId": id])
                    default: try send("keys.verify", ["key": key.secret, "capability": "booking.read"])
                    }
                }
                try send("subscriptions.setPlan", ["organizationId": "org_flip", "plan": index.isMultiple(of: 2) ? "pro" : "starter",
                                                   "eventId": "evt_flip_\(round)_\(index)", "occurredAt": "2026-11-02T00:00:\(String(format: "%02d", index % 60))Z"])
            }
            let killAfter = Int(random.next() % UInt64(nextId))
            for _ in 0..<killAfter {
                let line = try serve.nextLine()
                let reply = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                guard let id = reply["id"] as? Int, let (method, params) = pending.removeValue(forKey: id),
                    let result = reply["result"] as? [String: Any]
                else { continue }
                switch method {
                case "keys.create", "keys.rotate":
                    let key = result["key"] as! [String: Any]
                    let keyId = key["id"] as! String
                    let revoked = acknowledged.keys[keyId].map { $0.revoked } ?? false
                    acknowledged.keys[keyId] = (key["organizationId"] as! String, result["secret"] as! String, revoked)
                case "keys.revoke":
                    acknowledged.keys[params["keyId"] as! String]?.revoked = true
                default:
                    break
                }
            }
            kill(serve.process.processIdentifier, SIGKILL)
            _ = serve.waitForExit()
            // What was sent but not answered may or may not have happened.
            for (method, params) in pending.values {
                guard let keyId = params["keyId"] as? String else { continue }
                if method == "keys.rotate" {
                    acknowledged.keys[keyId] = nil  // its new secret, if any, is unknown
                } else if method == "keys.revoke", acknowledged.keys[keyId]?.revoked == false {
                    acknowledged.keys[keyId]?.revoked = nil
                }
            }

            try check(acknowledged, database: database, random: &random)
        }
    }

    /// A fresh process must honour everything that was answered.
    private func check(_ acknowledged: Acknowledged, database: URL, random: inout SeededRandom) throws {
        let pool = try DatabasePool(path: database.path)
        #expect(try pool.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
        let halfWritten = try pool.read { db in
            try Int.fetchOne(db, sql: """
                SELECT COUNT(*) FROM api_key k
                WHERE NOT EXISTS (SELECT 1 FROM key_secret s WHERE s.key_id = k.id AND s.expires_at IS NULL)
                """)
        }
        #expect(halfWritten == 0, "a key without a current secret")
        try pool.close()

        let serve = try ServeProcess(database: database)
        // Every key of the last round, and a sample of the older ones.
        for (_, key) in acknowledged.keys.shuffled(using: &random).prefix(60) {
            let answer = try serve.result("keys.verify", ["key": key.secret, "capability": "booking.read"])
            let allowed: Set<String> = switch key.revoked {
            case true?: ["revoked"]
            case false?: ["valid"]
            case nil: ["valid", "revoked"]
            }
            #expect(allowed.contains(answer["code"] as? String ?? ""), "\(answer)")
        }
        #expect(serve.finish() == 0)
    }
}
