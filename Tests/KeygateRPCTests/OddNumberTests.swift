import Foundation
import KeygateTestSupport
import Testing

/// Every number a caller sends, in every method, replaced in turn by what a
/// client's arithmetic or a hand-written request might send (zero, negative,
/// fractional, in exponent form, past Int64, a string, a boolean, null, an
/// array): the numbers' counterpart of `OddStringTests`. Each is answered
/// with a result or a refusal naming its field, never an internal error,
/// and the server answers the next request as before.
@Suite("Odd numbers in every param")
struct OddNumberTests {
    /// JSON tokens, as sent.
    static let oddNumbers = [
        "0", "-1", "1", "1.5", "-0", "1E2", "1e308", "1e-7", "9223372036854775807", "9223372036854775808",
        "-9223372036854775809", String(repeating: "9", count: 400), "\"7\"", "true", "null", "[]", "{}",
    ]

    /// The tokens above that are whole numbers, as JSON Schema's `integer` reads them.
    static let wholeNumbers: Set = [
        "0", "-1", "1", "-0", "1E2", "1e308", "9223372036854775807", "9223372036854775808", "-9223372036854775809",
        String(repeating: "9", count: 400),
    ]

    static let placeholder = "__odd_number__"

    /// One request per number a method takes, the number at `placeholder`;
    /// `path` names the param, as a refusal's `field` would.
    static func requests(keyId: String, secret: String, round: Int) -> [(method: String, path: String, params: [String: Any])] {
        let org = "org_odd"
        let odd = placeholder
        let imported: [String: Any] = ["name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
                                       "sha256": String(format: "%064x", round), "rateLimit": odd]
        return [
            ("keys.create", "rateLimit", ["organizationId": org, "name": "n", "kind": "owner_integration",
                                          "capabilities": ["booking.read"], "rateLimit": odd]),
            ("keys.list", "limit", ["organizationId": org, "limit": odd]),
            ("keys.update", "rateLimit", ["organizationId": org, "keyId": keyId, "rateLimit": odd]),
            ("keys.rotate", "gracePeriodSeconds", ["organizationId": org, "keyId": keyId, "gracePeriodSeconds": odd]),
            ("keys.import", "keys[0].rateLimit", ["organizationId": org, "keys": [imported]]),
            ("keys.verify", "cost", ["key": secret, "capability": "booking.read", "cost": odd]),
            ("usage.record", "amount", ["organizationId": org, "meter": "bookings", "amount": odd,
                                        "idempotencyKey": "odd-\(round)"]),
            ("usage.record", "reserve", ["organizationId": org, "meter": "bookings", "amount": 1, "reserve": odd,
                                         "idempotencyKey": "odd-reserve-\(round)"]),
            ("audit.list", "limit", ["organizationId": org, "limit": odd]),
            ("events.list", "limit", ["organizationId": org, "limit": odd]),
        ]
    }

    @Test(arguments: Backend.available) func oddNumbersAnywhereAreAnsweredAndNeverAnInternalError(_ backend: Backend) throws {
        let rpc = try RPCFixture(backend: backend)
        _ = try rpc.request("subscriptions.setPlan", ["organizationId": "org_odd", "plan": "pro", "eventId": "e1",
                                                      "occurredAt": "2026-11-01T00:00:00Z"])
        var round = 0
        for index in Self.requests(keyId: "", secret: "", round: 0).indices {
            for number in Self.oddNumbers {
                round += 1
                // A key of its own each time: a rotation before leaves the next a key to name.
                let created = try #require(try rpc.request("keys.create", [
                    "organizationId": "org_odd", "name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
                ]).result, "no key to name")
                let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
                let secret = try #require(created["secret"] as? String)
                let request = Self.requests(keyId: keyId, secret: secret, round: round)[index]
                let body: [String: Any] = ["jsonrpc": "2.0", "id": round, "method": request.method, "params": request.params]
                let line = String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self)
                    .replacingOccurrences(of: "\"\(Self.placeholder)\"", with: number)
                let reply = try rpc.call(line)
                let place = "\(request.method) \(request.path) = \(number.prefix(24))"
                #expect(reply.errorCode != -32603, "\(place): \(reply)")
                if reply.errorCode == -32602 {
                    let field = reply.errorData?["field"] as? String ?? ""
                    #expect(field == request.path, "\(place): \(reply)")
                }
                // A whole number, however large, is refused by its param's
                // range (its own code, naming the bounds), never as no
                // whole number: a schema's `integer` takes it.
                if Self.wholeNumbers.contains(number), request.path != "reserve", reply.result == nil {
                    #expect(reply.errorData?["code"] as? String != "invalid_params", "\(place): \(reply)")
                }
                #expect(reply.result != nil || reply.errorData?["message"] is String, "\(place): \(reply)")
                // Keys are deleted as they go: the plan holds 25 at a time.
                for listed in try rpc.request("keys.list", ["organizationId": "org_odd", "limit": 200])
                    .result?["keys"] as? [[String: Any]] ?? [] {
                    _ = try rpc.request("keys.delete", ["organizationId": "org_odd", "keyId": listed["id"] as? String ?? ""])
                }
            }
        }
        #expect(round == Self.requests(keyId: "", secret: "", round: 0).count * Self.oddNumbers.count)
        #expect(try rpc.request("catalog.plans", [:]).result != nil)
    }
}
