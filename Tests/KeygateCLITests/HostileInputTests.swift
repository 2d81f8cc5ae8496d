import Foundation
import Testing

/// Issue 8's table of hostile inputs, against the real executable: each is
/// answered with a clear error (or, where the input is legitimate, handled),
/// and the process keeps serving.
@Suite("Hostile input", .serialized)
struct HostileInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let line: String
        /// What the reply must contain.
        let expected: String
        var testDescription: String { name }
    }

    /// A keys.create request; `name` and `capabilities` are raw JSON, and
    /// `extra` adds members (the parser refuses a member given twice).
    static func create(name: String = #""n""#, capabilities: String = #"["booking.read"]"#, _ extra: String = "") -> String {
        #"{"jsonrpc":"2.0","id":1,"method":"keys.create","params":{"organizationId":"org_pro","name":\#(name),"kind":"owner_integration","capabilities":\#(capabilities)\#(extra)}}"#
    }

    static let cases: [Case] = [
        Case(name: "a line of 2 MiB", line: create(name: "\"" + String(repeating: "x", count: 2 << 20) + "\""),
             expected: #""code":"request_too_large""#),
        Case(name: "10,000 capabilities", line: create(capabilities: "[" + (0..<10_000).map { "\"c\($0)\"" }.joined(separator: ",") + "]"),
             expected: #""code":"unknown_capability""#),
        Case(name: "a name with a control character", line: create(name: #""evil\u0007bell""#), expected: #""code":"invalid_name""#),
        Case(name: "a name with a right-to-left override", line: create(name: #""txt.\u202Eexe""#), expected: #""code":"invalid_name""#),
        Case(name: "a name with emoji", line: create(name: #""Widget 🚀 👩‍💻""#), expected: #""name":"Widget 🚀 👩‍💻""#),
        Case(name: "an SQL-looking name", line: create(name: #""x'); DROP TABLE api_key; --""#),
             expected: #""name":"x'); DROP TABLE api_key; --""#),
        Case(name: "a number beyond Int64", line: create(#","rateLimit":92233720368547758070"#), expected: #""field":"rateLimit""#),
        Case(name: "a negative rate limit", line: create(#","rateLimit":-5"#), expected: #""code":"invalid_rate_limit""#),
        Case(name: "a fractional rate limit", line: create(#","rateLimit":60.5"#), expected: #""field":"rateLimit""#),
        Case(name: "an expiry in 1900", line: create(#","expiresAt":"1900-01-01T00:00:00Z""#), expected: #""code":"invalid_expiry""#),
        Case(name: "an expiry in 9999", line: create(#","expiresAt":"9999-12-31T23:59:59Z""#), expected: #""code":"lifetime_above_plan""#),
        Case(name: "an origin with a path", line: create(#","allowedOrigins":["https://shop.example/checkout"]"#),
             expected: #""code":"invalid_origin""#),
        Case(name: "an origin with credentials", line: create(#","allowedOrigins":["https://user:pw@shop.example"]"#),
             expected: #""code":"invalid_origin""#),
        Case(name: "invalid UTF-8", line: "", expected: #""code":-32700"#),
        Case(name: "JSON nested 10,000 deep", line: String(repeating: "[", count: 10_000), expected: #""code":-32700"#),
    ] + ["", "kg", "kg_live_", "kg_live_abc", "kg_live_" + String(repeating: "A", count: 38), "kg_prod_" + String(repeating: "A", count: 38),
         "KG_LIVE_" + String(repeating: "A", count: 38), "kg_live_" + String(repeating: "-", count: 38),
         "kg_live_" + String(repeating: "A", count: 500)].enumerated().map { index, key in
        Case(name: "a key of the wrong shape #\(index)",
             line: #"{"jsonrpc":"2.0","id":1,"method":"keys.verify","params":{"key":"\#(key)","capability":"booking.read"}}"#,
             expected: #""code":"malformed""#)
    }

    @Test(arguments: cases)
    func eachHostileInputGetsAClearAnswerAndTheServerKeepsServing(_ hostile: Case) throws {
        let serve = try ServeProcess(arguments: ["--max-line-bytes", "\(1 << 20)"])
        _ = try serve.result("subscriptions.setPlan", [
            "organizationId": "org_pro", "plan": "pro", "eventId": "e", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        if hostile.name == "invalid UTF-8" {
            serve.send(bytes: Array(#"{"jsonrpc":"2.0","id":1,"method":"keys.list","params":{"organizationId":"o"#.utf8)
                       + [0xC0, 0xAF] + Array(#""}}"#.utf8) + [0x0A])
        } else {
            serve.send(hostile.line)
        }
        let reply = try serve.nextLine()
        #expect(reply.contains(hostile.expected), "\(reply.prefix(400))")
        #expect(try serve.result("catalog.plans")["defaultPlan"] as? String == "free", "still serving")
        #expect(serve.finish() == 0)
    }
}
