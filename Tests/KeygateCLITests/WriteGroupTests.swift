import Foundation
import GRDB
import KeygateTestSupport
import Testing

/// Writes that arrive together commit together (one transaction, a
/// savepoint each). What a caller sees must be exactly what it would see
/// sending them one at a time: order, each request's own success or
/// refusal, reads and verifications that see the writes before them, and
/// nothing acknowledged unless it was committed.
@Suite("Writes sent together", .serialized)
struct WriteGroupTests {
    private func line(_ id: Int, _ method: String, _ params: [String: Any]) throws -> String {
        let body: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
        return String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
    }

    /// A move of `org` to Pro (id 0), then a creation of each kind in
    /// turn (ids from 1, names `k1`, `k2`…).
    private func moveToPro(_ org: String, event: String, creating kinds: [String]) throws -> [String] {
        var lines = [try line(0, "subscriptions.setPlan", ["organizationId": org, "plan": "pro", "eventId": event, "occurredAt": "2026-11-01T00:00:00Z"])]
        for (offset, kind) in kinds.enumerated() {
            lines.append(try line(offset + 1, "keys.create", ["organizationId": org, "name": "k\(offset + 1)", "kind": kind, "capabilities": ["booking.read"]]))
        }
        return lines
    }

    private func replies(_ serve: ServeProcess, _ count: Int) throws -> [[String: Any]] {
        try (0..<count).map { _ in try JSONSerialization.jsonObject(with: Data(try serve.nextLine().utf8)) as! [String: Any] }
    }

    @Test(arguments: Backend.withPooler)
    func pipelinedWritesAnswerInOrderEachOnItsOwnAndLaterRequestsSeeThem(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend)
        let org = "org_group"
        // In one write: the move to Pro (creations after it see it), 27
        // creations (Pro allows 25 live keys, so the last two are refused on
        // their own; one has an unknown kind), then a list.
        var lines = try moveToPro(org, event: "g1", creating: (1...28).map { $0 == 5 ? "no_such_kind" : "owner_integration" })
        lines.append(try line(29, "keys.list", ["organizationId": org, "limit": 100]))
        serve.send(lines.joined(separator: "\n"))
        let answers = try replies(serve, 30)
        #expect(answers.map { $0["id"] as? Int } == Array(0...29))
        #expect((answers[0]["result"] as? [String: Any])?["applied"] as? Bool == true)
        let first = Array(answers.dropFirst())
        let created = first.prefix(28).compactMap { $0["result"] as? [String: Any] }
        #expect(created.count == 25)
        let refusals = first.prefix(28).compactMap { ($0["error"] as? [String: Any])?["data"] as? [String: Any] }
        #expect(refusals.map { $0["code"] as? String } == ["unknown_kind", "key_limit_reached", "key_limit_reached"])
        #expect((first[4]["error"] as? [String: Any]) != nil)
        #expect(((first[28]["result"] as? [String: Any])?["keys"] as? [Any])?.count == 25)

        // A revocation, then a verification of that key, in one write; a
        // rotation without grace, then the old secret; then the new one.
        let secrets = created.map { $0["secret"] as! String }
        let ids = created.map { ($0["key"] as! [String: Any])["id"] as! String }
        serve.send([
            try line(30, "keys.revoke", ["organizationId": org, "keyId": ids[0]]),
            try line(31, "keys.verify", ["key": secrets[0], "capability": "booking.read"]),
            try line(32, "keys.rotate", ["organizationId": org, "keyId": ids[1]]),
            try line(33, "keys.verify", ["key": secrets[1], "capability": "booking.read"]),
            try line(34, "keys.create", ["organizationId": org, "name": "freed slot", "kind": "owner_integration", "capabilities": ["booking.read"]]),
        ].joined(separator: "\n"))
        let second = try replies(serve, 5)
        #expect(second.map { $0["id"] as? Int } == Array(30...34))
        #expect((second[1]["result"] as? [String: Any])?["code"] as? String == "revoked")
        #expect((second[3]["result"] as? [String: Any])?["code"] as? String == "not_found")
        let rotated = try #require((second[2]["result"] as? [String: Any])?["secret"] as? String)
        // The revocation freed a slot for the creation after it.
        #expect((second[4]["result"] as? [String: Any])?["secret"] != nil)
        #expect(try serve.result("keys.verify", ["key": rotated, "capability": "booking.read"])["valid"] as? Bool == true)
        #expect(serve.finish() == 0)
    }

    /// A full disk (a file size limit) met by a group's commit: every write
    /// of the group it answered is refused, and what was acknowledged, and
    /// only that, is in the database afterwards.
    @Test func aGroupThatCannotCommitIsRefusedWholeAndNothingAcknowledgedIsLost() throws {
        let serve = try ServeProcess(fileSizeLimitKiB: 2_048)
        var acknowledged = 0
        var refused = 0
        var id = 0
        for round in 0..<400 where refused == 0 {
            let org = "org_\(round)"
            var lines = [try line(id, "subscriptions.setPlan", ["organizationId": org, "plan": "pro", "eventId": "e\(round)", "occurredAt": "2026-11-01T00:00:00Z"])]
            id += 1
            for _ in 0..<20 {
                lines.append(try line(id, "keys.create", [
                    "organizationId": org, "name": String(repeating: "n", count: 100), "kind": "owner_integration",
                    "capabilities": ["booking.read"],
                ]))
                id += 1
            }
            serve.send(lines.joined(separator: "\n"))
            for reply in try replies(serve, lines.count) {
                if let error = reply["error"] as? [String: Any] {
                    #expect((error["data"] as? [String: Any])?["code"] as? String == "storage_failure", "\(error)")
                    refused += 1
                } else if (reply["result"] as? [String: Any])?["secret"] != nil {
                    acknowledged += 1
                }
            }
        }
        #expect(refused > 0, "the file size limit was never reached")
        #expect(acknowledged > 0)
        #expect(serve.finish() == 0)
        let pool = try DatabasePool(path: serve.database.path)
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM api_key") } == acknowledged)
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM key_secret") } == acknowledged)
        #expect(try pool.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }

    /// Verifications sent together (on PostgreSQL their keys are looked up
    /// together) answer as sent one at a time: each in order, a key
    /// revoked between two of them refused from then on, and the one sent
    /// before the revocation answered as it stood.
    @Test(arguments: Backend.withPooler)
    func pipelinedVerificationsAnswerInOrderAroundAWrite(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend)
        let org = "org_verify_group"
        serve.send(try moveToPro(org, event: "v1", creating: Array(repeating: "owner_integration", count: 6)).joined(separator: "\n"))
        let created = try replies(serve, 7).dropFirst().map { $0["result"] as! [String: Any] }
        let secrets = created.map { $0["secret"] as! String }
        let ids = created.map { ($0["key"] as! [String: Any])["id"] as! String }
        // A process that has seen none of the keys.
        let other = try ServeProcess(sharing: serve)
        var verifications: [String] = []
        for (index, secret) in secrets.enumerated() {
            verifications.append(try line(100 + index, "keys.verify", ["key": secret, "capability": "booking.read"]))
        }
        verifications.append(try line(110, "keys.verify", ["authorization": "Bearer \(secrets[5])", "capability": "booking.read"]))
        verifications.append(try line(111, "keys.verify", ["key": "kg_live_notakey", "capability": "booking.read"]))
        verifications.append(try line(112, "keys.revoke", ["organizationId": org, "keyId": ids[2]]))
        verifications.append(try line(113, "keys.verify", ["key": secrets[2], "capability": "booking.read"]))
        verifications.append(try line(114, "keys.verify", ["key": secrets[3], "capability": "booking.read"]))
        other.send(verifications.joined(separator: "\n"))
        let answers = try replies(other, verifications.count)
        #expect(answers.map { $0["id"] as? Int } == Array(100...105) + Array(110...114))
        let codes = answers.map { ($0["result"] as? [String: Any])?["code"] as? String }
        #expect(codes == ["valid", "valid", "valid", "valid", "valid", "valid", "valid", "malformed", nil, "revoked", "valid"])
        #expect((answers[8]["result"] as? [String: Any])?["status"] as? String == "revoked")
    }
}
