import Foundation
#if canImport(Glibc)
import Glibc
#endif
import GRDB
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// Issue 8, crash safety, on every store: `keygate serve` is killed with
/// SIGKILL at random moments during a stream of creates, rotations,
/// revocations, plan changes, recorded uses and verifications; after each
/// kill a fresh process on the same database must find every answered
/// creation and revocation intact, no half-written key, no lock left
/// behind (it writes), every answered `usage.record` counted once and an
/// unanswered one at most once, no creation under an idempotency key
/// making more than one key, every rotation (each under an idempotency
/// key) rotated at most once and its audit entry written with it, and, on
/// SQLite, a sound file. At the end every unanswered use, creation and
/// rotation is sent again: each use is counted exactly once, each creation
/// made exactly one key, each rotation rotated once or was refused.
/// `swift test` runs 12 kills a store; `Scripts/crash-harness.sh` runs
/// 300 (KEYGATE_CRASH_KILLS).
@Suite("Crash safety", .serialized)
struct CrashSafetyTests {
    struct Acknowledged {
        /// Key id → its newest answered secret, and whether it is revoked:
        /// `true` once a revocation was answered, `nil` while one was sent
        /// but not answered when the kill came (it may or may not have happened).
        var keys: [String: (organization: String, secret: String, revoked: Bool?)] = [:]
        /// The idempotency keys of answered `usage.record` calls, by organization.
        var recorded: [String: Set<String>] = [:]
        /// Idempotency key → organization of `usage.record` calls sent but
        /// not answered when a kill came: each may or may not be counted,
        /// and is sent again in the next round, as a product retries.
        var unanswered: [String: String] = [:]
        /// The idempotency keys of `keys.create` calls sent, by organization:
        /// each makes one key, however often it is sent.
        var creations: [String: Set<String>] = [:]
        /// Idempotency key → organization of creations sent but not
        /// answered when a kill came, sent again in the next round, as a
        /// dashboard retries.
        var unansweredCreations: [String: String] = [:]
        /// Idempotency key → the params of rotations sent but not answered
        /// when a kill came, sent again in the next round.
        var unansweredRotations: [String: [String: Any]] = [:]
        /// The idempotency keys of every rotation sent.
        var rotations: Set<String> = []
    }

    /// Moves an organization to Pro, under the same event id each time.
    private static func pro(_ organization: String) -> [String: Any] {
        ["organizationId": organization, "plan": "pro", "eventId": "evt_\(organization)", "occurredAt": "2026-11-01T00:00:00Z"]
    }

    /// A creation under `idempotencyKey`: the same call each time it is sent again.
    private static func creation(_ idempotencyKey: String, of organization: String) -> [String: Any] {
        ["organizationId": organization, "name": "retried", "kind": "owner_integration", "capabilities": ["booking.read"],
         "idempotencyKey": idempotencyKey]
    }

    /// The organizations whose recorded uses are counted, across rounds.
    private static let meteredOrganizations = ["org_metered_0", "org_metered_1"]

    /// A `usage.record` of one booking under `idempotencyKey`: the same
    /// call each time it is sent again.
    private static func use(_ idempotencyKey: String, of organization: String) -> [String: Any] {
        ["organizationId": organization, "meter": "bookings", "amount": 1, "idempotencyKey": idempotencyKey]
    }

    /// Where every round's server keeps its data.
    private struct Store {
        let backend: Backend
        let file: URL
        /// The server's URL on PostgreSQL.
        let postgres: String?
        /// The same database, reached directly, to look at what it holds.
        let direct: String?

        func serve() throws -> ServeProcess {
            try ServeProcess(database: file, postgres: postgres, pooled: backend == .pooled)
        }

        func integer(_ sql: String) throws -> Int {
            if let direct { return try PostgresKeyStorage.integer(sql, url: direct) ?? 0 }
            let pool = try DatabasePool(path: file.path)
            defer { try? pool.close() }
            return try pool.read { try Int.fetchOne($0, sql: sql) } ?? 0
        }
    }

    @Test(arguments: Backend.withPooler)
    func everyAnsweredChangeSurvivesSIGKILL(on backend: Backend) throws {
        let kills = Int(ProcessInfo.processInfo.environment["KEYGATE_CRASH_KILLS"] ?? "") ?? 12
        var random = SeededRandom(seed: UInt64(ProcessInfo.processInfo.environment["KEYGATE_CRASH_SEED"] ?? "") ?? 2026)
        let directory = try ScratchFolder.make("keygate-crash")
        defer { try? FileManager.default.removeItem(at: directory) }
        let postgres = try backend.freshPostgresURL()
        let store = Store(backend: backend, file: directory.appending(path: "keygate.sqlite"), postgres: postgres,
                          direct: try postgres.map { backend == .pooled ? try Backend.directURL(of: $0) : $0 })
        var acknowledged = Acknowledged()

        for round in 0..<kills {
            let serve = try store.serve()
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
            func record(_ idempotencyKey: String, for organization: String) throws {
                try send("usage.record", Self.use(idempotencyKey, of: organization))
            }
            let organizations = (0..<3).map { "org_\(round)_\($0)" }
            // Creations retried from earlier rounds go to their organizations,
            // whose move to Pro a kill may have left unanswered (sent again, a replay).
            let created = Set(acknowledged.creations.keys).union(["org_created_\(round)"]).sorted()
            for organization in organizations + Self.meteredOrganizations + created {
                try send("subscriptions.setPlan", Self.pro(organization))
            }
            for (idempotencyKey, organization) in acknowledged.unanswered.sorted(by: { $0.key < $1.key }) {
                try record(idempotencyKey, for: organization)
            }
            for (idempotencyKey, organization) in acknowledged.unansweredCreations.sorted(by: { $0.key < $1.key }) {
                try send("keys.create", Self.creation(idempotencyKey, of: organization))
            }
            for (_, params) in acknowledged.unansweredRotations.sorted(by: { $0.key < $1.key }) {
                try send("keys.rotate", params)
            }
            for index in 0..<40 {
                let organization = organizations[index % organizations.count]
                try send("keys.create", ["organizationId": organization, "name": "k\(index)", "kind": "owner_integration",
                                         "capabilities": ["booking.read"]])
                if let (id, key) = acknowledged.keys.randomElement(using: &random) {
                    switch random.next() % 4 {
                    case 0:
                        acknowledged.rotations.insert("rotate_\(round)_\(index)")
                        try send("keys.rotate", ["organizationId": key.organization, "keyId": id,
                                                 "idempotencyKey": "rotate_\(round)_\(index)"])
                    case 1: try send("keys.revoke", ["organizationId": key.organization, "keyId": id])
                    default: try send("keys.verify", ["key": key.secret, "capability": "booking.read"])
                    }
                }
                try record("use_\(round)_\(index)", for: Self.meteredOrganizations[index % Self.meteredOrganizations.count])
                if index.isMultiple(of: 10) {
                    // A few an organization: Pro allows 25 live keys.
                    let organization = "org_created_\(round)"
                    acknowledged.creations[organization, default: []].insert("create_\(round)_\(index)")
                    try send("keys.create", Self.creation("create_\(round)_\(index)", of: organization))
                }
                try send("subscriptions.setPlan", ["organizationId": "org_flip", "plan": index.isMultiple(of: 2) ? "pro" : "starter",
                                                   "eventId": "evt_flip_\(round)_\(index)", "occurredAt": "2026-11-02T00:00:\(String(format: "%02d", index % 60))Z"])
            }
            let killAfter = Int(random.next() % UInt64(nextId))
            for _ in 0..<killAfter {
                let line = try serve.nextLine()
                let reply = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                guard let id = reply["id"] as? Int, let (method, params) = pending.removeValue(forKey: id) else { continue }
                if let idempotencyKey = params["idempotencyKey"] as? String, method == "keys.create" {
                    #expect(Self.answersARetry(reply, of: method), "\(reply)")
                    acknowledged.unansweredCreations[idempotencyKey] = nil
                }
                if let idempotencyKey = params["idempotencyKey"] as? String, method == "keys.rotate" {
                    #expect(Self.answersARetry(reply, of: method), "\(reply)")
                    acknowledged.unansweredRotations[idempotencyKey] = nil
                }
                guard let result = reply["result"] as? [String: Any] else {
                    // A rotation or revocation of a key revoked meanwhile is
                    // refused; a use never is: only a kill keeps its answer.
                    if method == "usage.record" { Issue.record("usage.record refused: \(reply)") }
                    continue
                }
                switch method {
                case "keys.create", "keys.rotate":
                    let key = result["key"] as! [String: Any]
                    let keyId = key["id"] as! String
                    let revoked = acknowledged.keys[keyId].map { $0.revoked } ?? false
                    acknowledged.keys[keyId] = (key["organizationId"] as! String, result["secret"] as! String, revoked)
                case "keys.revoke":
                    acknowledged.keys[params["keyId"] as! String]?.revoked = true
                case "usage.record":
                    let idempotencyKey = params["idempotencyKey"] as! String
                    acknowledged.recorded[params["organizationId"] as! String, default: []].insert(idempotencyKey)
                    acknowledged.unanswered[idempotencyKey] = nil
                default:
                    break
                }
            }
            kill(serve.process.processIdentifier, SIGKILL)
            _ = serve.waitForExit()
            // What was sent but not answered may or may not have happened.
            for (method, params) in pending.values {
                if method == "usage.record" {
                    acknowledged.unanswered[params["idempotencyKey"] as! String] = params["organizationId"] as? String
                } else if method == "keys.create", let idempotencyKey = params["idempotencyKey"] as? String {
                    acknowledged.unansweredCreations[idempotencyKey] = params["organizationId"] as? String
                } else if method == "keys.rotate", let idempotencyKey = params["idempotencyKey"] as? String {
                    acknowledged.unansweredRotations[idempotencyKey] = params
                }
                guard let keyId = params["keyId"] as? String else { continue }
                if method == "keys.rotate" {
                    acknowledged.keys[keyId] = nil  // its new secret, if any, is unknown
                } else if method == "keys.revoke", acknowledged.keys[keyId]?.revoked == false {
                    acknowledged.keys[keyId]?.revoked = nil
                }
            }

            try check(acknowledged, in: store, round: round, random: &random)
        }
        try retryUnanswered(&acknowledged, in: store)
    }

    /// A fresh process must honour everything that was answered.
    private func check(_ acknowledged: Acknowledged, in store: Store, round: Int, random: inout SeededRandom) throws {
        if store.backend == .sqlite {
            let pool = try DatabasePool(path: store.file.path)
            #expect(try pool.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
            try pool.close()
        }
        let halfWritten = try store.integer("""
            SELECT COUNT(*) FROM api_key k
            WHERE NOT EXISTS (SELECT 1 FROM key_secret s WHERE s.key_id = k.id AND s.expires_at IS NULL)
            """)
        #expect(halfWritten == 0, "a key without a current secret")
        for organization in Self.meteredOrganizations {
            let answered = acknowledged.recorded[organization, default: []].count
            let unanswered = acknowledged.unanswered.values.count { $0 == organization }
            let counted = try bookings(of: organization, in: store)
            #expect((answered...(answered + unanswered)).contains(counted),
                    "\(organization): \(counted) uses counted, \(answered) answered and \(unanswered) not")
        }
        for (organization, sent) in acknowledged.creations {
            #expect(try keys(of: organization, in: store) <= sent.count, "\(organization): a creation made two keys")
        }
        try checkRotations(acknowledged, in: store)

        let serve = try store.serve()
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
        // Writes go through: the killed process left no lock behind.
        let created = try serve.proKey(organization: "org_after_\(round)", rateLimit: 60)
        #expect(try serve.result("keys.verify", ["key": created["secret"] as! String, "capability": "booking.read"])["code"]
            as? String == "valid")
        #expect(serve.finish() == 0)
    }

    /// Sends every unanswered use again, as a product retries, until each
    /// is answered: then each use is counted exactly once.
    private func retryUnanswered(_ acknowledged: inout Acknowledged, in store: Store) throws {
        let serve = try store.serve()
        for (idempotencyKey, organization) in acknowledged.unanswered {
            _ = try serve.result("usage.record", Self.use(idempotencyKey, of: organization))
            acknowledged.recorded[organization, default: []].insert(idempotencyKey)
        }
        acknowledged.unanswered = [:]
        for organization in Set(acknowledged.unansweredCreations.values) {
            _ = try serve.result("subscriptions.setPlan", Self.pro(organization))
        }
        for (idempotencyKey, organization) in acknowledged.unansweredCreations {
            let reply = try serve.call("keys.create", Self.creation(idempotencyKey, of: organization))
            #expect(Self.answersARetry(reply, of: "keys.create"), "\(reply)")
        }
        for (_, params) in acknowledged.unansweredRotations {
            let reply = try serve.call("keys.rotate", params)
            #expect(Self.answersARetry(reply, of: "keys.rotate"), "\(reply)")
        }
        acknowledged.unansweredRotations = [:]
        #expect(serve.finish() == 0)
        for organization in Self.meteredOrganizations {
            #expect(try bookings(of: organization, in: store) == acknowledged.recorded[organization, default: []].count)
        }
        try checkRotations(acknowledged, in: store)
        #expect(!acknowledged.rotations.isEmpty)
        #expect(!acknowledged.creations.isEmpty)
        for (organization, sent) in acknowledged.creations {
            #expect(try keys(of: organization, in: store) == sent.count, "\(organization): one key a creation")
        }
    }

    /// Whether `reply` answers a call under an idempotency key that may be
    /// a retry of one a kill left unanswered: done now, or told it was done
    /// by the first (a creation made one key, a rotation rotated once); a
    /// rotation also refused for a key revoked since, the first not done.
    private static func answersARetry(_ reply: [String: Any], of method: String) -> Bool {
        let code = ((reply["error"] as? [String: Any])?["data"] as? [String: Any])?["code"] as? String
        let told: Set<String> = method == "keys.create" ? ["key_already_created"] : ["key_already_rotated", "key_revoked"]
        return reply["result"] != nil || told.contains(code ?? "")
    }

    /// Each rotation's audit entry was written with it, and none rotated
    /// twice: as many rotations as idempotency keys remembered, and no
    /// more than were sent.
    private func checkRotations(_ acknowledged: Acknowledged, in store: Store) throws {
        let rotated = try store.integer("SELECT CAST(COUNT(*) AS BIGINT) FROM audit_entry WHERE action = 'key.rotated'")
        let remembered = try store.integer("SELECT CAST(COUNT(*) AS BIGINT) FROM key_rotation")
        #expect(rotated == remembered && remembered <= acknowledged.rotations.count,
                "\(rotated) rotations, \(remembered) remembered, \(acknowledged.rotations.count) sent")
    }

    /// The keys an organization has, whatever their state.
    private func keys(of organization: String, in store: Store) throws -> Int {
        try store.integer("SELECT CAST(COUNT(*) AS BIGINT) FROM api_key WHERE organization_id = '\(organization)'")
    }

    /// The uses counted on an organization's `bookings` meter, every period.
    private func bookings(of organization: String, in store: Store) throws -> Int {
        try store.integer("""
            SELECT CAST(COALESCE(SUM(used), 0) AS BIGINT) FROM meter_usage
            WHERE organization_id = '\(organization)' AND meter = 'bookings'
            """)
    }
}
