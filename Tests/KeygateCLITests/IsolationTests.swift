import Foundation
import KeygateTestSupport
import Testing

/// Issue 8, isolation: every method called with another organization's key
/// id answers exactly as for an id that does not exist, and a key reads only
/// its own organization's quotas.
@Suite("Isolation between organizations", .serialized)
struct IsolationTests {
    @Test(arguments: Backend.available) func anotherOrganizationsKeyIsIndistinguishableFromAnUnknownOne(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend)
        for organization in ["org_mine", "org_theirs"] {
            _ = try serve.result("subscriptions.setPlan", ["organizationId": organization, "plan": "pro", "eventId": "e_\(organization)", "occurredAt": "2026-11-01T00:00:00Z"])
        }
        let theirs = try serve.result("keys.create", ["organizationId": "org_theirs", "name": "theirs", "kind": "owner_integration", "capabilities": ["booking.read", "subscription.read"]])
        let theirId = (theirs["key"] as! [String: Any])["id"] as! String
        _ = try serve.result("usage.record", ["organizationId": "org_theirs", "meter": "bookings", "amount": 7, "idempotencyKey": "t1"])

        let calls: [(String, [String: Any])] = [
            ("keys.get", [:]), ("keys.update", ["name": "mine now"]), ("keys.rotate", [:]),
            ("keys.stopPreviousSecrets", [:]), ("keys.revoke", [:]),
            ("keys.delete", [:]), ("usage.get", ["from": "2026-01-01", "to": "2026-12-31"]),
        ]
        for (method, extra) in calls {
            func answer(_ keyId: String) throws -> String {
                let reply = try serve.call(method, extra.merging(["organizationId": "org_mine", "keyId": keyId]) { $1 })
                // The whole error, minus nothing: it must not differ in any way.
                return String(decoding: try JSONSerialization.data(withJSONObject: reply["error"] ?? "no error", options: .sortedKeys), as: UTF8.self)
            }
            let foreign = try answer(theirId)
            let unknown = try answer("key_doesnotexist00000000")
            #expect(foreign == unknown, "\(method)")
            #expect(foreign.contains("not_found"), "\(method): \(foreign)")
        }
        // Their key still works and was not changed by any of the calls above.
        let key = try serve.result("keys.get", ["organizationId": "org_theirs", "keyId": theirId])
        #expect(key["name"] as? String == "theirs" && key["status"] as? String == "active")
        #expect(try serve.result("keys.verify", ["key": theirs["secret"] as! String, "capability": "booking.read"])["valid"] as? Bool == true)

        // A key reads its own organization's quotas, never another's.
        let mine = try serve.result("keys.create", ["organizationId": "org_mine", "name": "mine", "kind": "owner_integration", "capabilities": ["subscription.read"]])
        let quotas = try serve.result("subscriptions.quotas", ["key": mine["secret"] as! String])
        let bookings = (quotas["quotas"] as? [[String: Any]])?.first { $0["id"] as? String == "bookings" }
        #expect(bookings?["used"] as? Int == 0)
        let listed = try serve.result("keys.list", ["organizationId": "org_mine"])["keys"] as? [[String: Any]]
        #expect(listed?.compactMap { $0["id"] as? String } == [(mine["key"] as! [String: Any])["id"] as! String])
        #expect(serve.finish() == 0, "\(serve.stderr)")
    }
}
