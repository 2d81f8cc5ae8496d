import Foundation
import KeygateTestSupport
import Testing

/// `audit.list {keyId}`: what a key's page in the dashboard shows.
@Suite("audit.list of one key")
struct AuditTrailTests {
    @Test(arguments: Backend.available) func aKeysTrailHoldsItsEntriesAloneNewestFirst(_ backend: Backend) throws {
        let rpc = try RPCFixture(backend: backend)
        func result(_ method: String, _ params: [String: Any]) throws -> [String: Any] {
            let reply = try rpc.request(method, params)
            return try #require(reply["result"] as? [String: Any], "\(reply)")
        }
        _ = try result("subscriptions.setPlan", ["organizationId": "org_1", "plan": "pro", "eventId": "evt_1",
                                                 "occurredAt": "2026-11-22T10:00:00Z"])
        var ids: [String] = []
        for name in ["Zapier", "Partner"] {
            let created = try result("keys.create", ["organizationId": "org_1", "name": name, "kind": "owner_integration",
                                                     "capabilities": ["booking.read"], "actor": "user_1"])
            ids.append(try #require((created["key"] as? [String: Any])?["id"] as? String))
        }
        _ = try result("keys.update", ["organizationId": "org_1", "keyId": ids[0], "name": "Zapier (bookings)", "actor": "user_2"])
        _ = try result("keys.revoke", ["organizationId": "org_1", "keyId": ids[1], "actor": "user_2"])

        let trail = try result("audit.list", ["organizationId": "org_1", "keyId": ids[0]])
        let entries = try #require(trail["entries"] as? [[String: Any]])
        #expect(entries.compactMap { $0["action"] as? String } == ["key.updated", "key.created"])
        #expect(entries.allSatisfy { $0["keyId"] as? String == ids[0] } && trail["nextCursor"] is NSNull)
        let first = try result("audit.list", ["organizationId": "org_1", "keyId": ids[1], "limit": 1])
        #expect((first["entries"] as? [[String: Any]])?.first?["action"] as? String == "key.revoked")
        let rest = try result("audit.list", ["organizationId": "org_1", "keyId": ids[1], "cursor": first["nextCursor"] as Any])
        #expect((rest["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == ["key.created"])
        // The whole log has the plan change too, which names no key.
        let log = try result("audit.list", ["organizationId": "org_1"])
        #expect((log["entries"] as? [[String: Any]])?.count == 5)
    }

    /// A delete sent again (its first answer lost) is `not_found`, as for
    /// a key that never was, and the trail keeps the one deletion.
    @Test(arguments: Backend.available) func aDeleteSentAgainIsNotFoundAndLogsNothingMore(_ backend: Backend) throws {
        let rpc = try RPCFixture(backend: backend)
        _ = try rpc.request("subscriptions.setPlan", ["organizationId": "org_1", "plan": "pro", "eventId": "evt_1",
                                                      "occurredAt": "2026-11-22T10:00:00Z"])
        let created = try #require(try rpc.request("keys.create", [
            "organizationId": "org_1", "name": "Zapier", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])["result"] as? [String: Any])
        let id = try #require((created["key"] as? [String: Any])?["id"] as? String)
        let first = try rpc.request("keys.delete", ["organizationId": "org_1", "keyId": id, "actor": "user_1"])
        #expect((first["result"] as? [String: Any])?["deleted"] as? Bool == true, "\(first)")
        let again = try rpc.request("keys.delete", ["organizationId": "org_1", "keyId": id, "actor": "user_1"])
        #expect(again.errorData?["code"] as? String == "not_found" && again.errorData?["field"] as? String == "keyId",
                "\(again)")
        let trail = try #require(try rpc.request("audit.list", ["organizationId": "org_1", "keyId": id])["result"]
            as? [String: Any])
        #expect((trail["entries"] as? [[String: Any]])?.compactMap { $0["action"] as? String } == ["key.deleted", "key.created"])
    }
}
