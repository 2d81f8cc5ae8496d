import Foundation
import KeyStore
import KeygateRPC
import KeygateTestSupport
import Testing

@Suite("JSON-RPC 2.0 protocol")
struct ProtocolTests {
    let rpc: RPCFixture

    init() throws {
        rpc = try RPCFixture()
    }

    @Test(arguments: [#""abc""#, "7", "-0", "1.50", "1e3", "12345678901234567890", #""é\u00e9""#, "null"])
    func idsAreEchoedAsSent(id: String) throws {
        let reply = try #require(rpc.send(#"{"jsonrpc":"2.0","id":\#(id),"method":"catalog.plans"}"#))
        let expected = id == #""é\u00e9""# ? #""éé""# : id
        #expect(reply.hasPrefix(#"{"jsonrpc":"2.0","id":\#(expected),"result":"#))
    }

    @Test(arguments: [
        ("{", "parse_error"), ("not json", "parse_error"), (#"{"a":1,"a":2}"#, "parse_error"),
        (String(repeating: "[", count: 100) + String(repeating: "]", count: 100), "parse_error"),
        (#"{"jsonrpc":"2.0","id":1,"method":"catalog.plans","params":{"s":"\ud800"}}"#, "parse_error"),
    ])
    func unreadableInputIsAParseErrorWithANullId(line: String, code: String) throws {
        let reply = try rpc.call(line)
        #expect(reply["id"] is NSNull)
        #expect(reply.errorCode == -32700)
        #expect(reply.errorData?["code"] as? String == code)
    }

    @Test func invalidUTF8IsAParseErrorThatSaysSo() throws {
        let bytes = Array(#"{"jsonrpc":"2.0","id":1,"method":"catalog.plans","params":{"locale":""#.utf8) + [0xC3, 0x28] + Array(#""}}"#.utf8)
        let reply = try #require(rpc.send(bytes: bytes))
        #expect(reply.contains(#""code":-32700"#) && reply.contains("UTF-8"))
    }

    /// Valid JSON that Keygate cannot take is not called invalid JSON: the
    /// message names what it met, in the caller's server language.
    @Test(arguments: [
        (#"{"jsonrpc":"2.0","id":1,"method":"catalog.plans","params":{"s":"\ud800"}}"#, "half of a surrogate pair"),
        (#"{"jsonrpc":"2.0","id":1,"method":"catalog.plans","params":{"s":"\udc00\ud800"}}"#, "half of a surrogate pair"),
        (#"{"jsonrpc":"2.0","id":1,"method":"catalog.plans","params":{"s":"\ud800\u0041"}}"#, "half of a surrogate pair"),
        (#"{"jsonrpc":"2.0","id":-0.000000000000000000000000000000000000000000000000000000000000000000000000000001,"method":"catalog.plans"}"#,
         "a number longer than 64 characters"),
        (#"{"jsonrpc":"2.0","id":1,"method":"catalog.plans","params":{"n":1\#(String(repeating: "0", count: 64))}}"#,
         "a number longer than 64 characters"),
    ])
    func validJSONBeyondKeygatesLimitsIsAParseErrorThatSaysWhy(line: String, message: String) throws {
        let reply = try rpc.call(line)
        #expect(reply["id"] is NSNull)
        #expect(reply.errorCode == -32700)
        #expect(reply.errorData?["code"] as? String == "parse_error")
        #expect((reply.error?["message"] as? String)?.contains(message) == true, "\(reply)")
    }

    /// A method that takes one of two params names both when neither came:
    /// "`key` is required" sent a gateway that forwards `authorization`
    /// looking for the wrong fix.
    @Test(arguments: [
        ("keys.verify", #"{}"#, "key", "“key” or “authorization”"),
        ("keys.verify", #"{"key":null,"authorization":null}"#, "key", "“key” or “authorization”"),
        ("subscriptions.quotas", #"{}"#, "organizationId", "“organizationId” or “key”"),
        ("keys.import", #"{"organizationId":"o","keys":[{"name":"n","kind":"owner_integration","capabilities":["booking.read"]}]}"#,
         "keys[0].sha256", "“keys[0].sha256” or “keys[0].key”"),
    ])
    func eitherOfTwoParamsMissingNamesBoth(method: String, params: String, field: String, named: String) throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":\#(params)}"#)
        #expect(reply.errorCode == -32602 && reply.errorData?["field"] as? String == field, "\(reply)")
        #expect((reply.errorData?["message"] as? String)?.contains(named) == true, "\(reply)")
    }

    /// `locale: null`, as rpc.discover publishes it (`["string", "null"]`),
    /// is the server's language, in every method.
    @Test func aNullLocaleIsTheServersLanguage() throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.get","params":{"organizationId":"o","keyId":"key_x","locale":null}}"#)
        #expect(reply.errorData?["code"] as? String == "not_found", "\(reply)")
        let plans = try rpc.call(#"{"jsonrpc":"2.0","id":2,"method":"catalog.plans","params":{"locale":null}}"#)
        #expect(plans.result != nil, "\(plans)")
    }

    @Test func aNumberOf64CharactersIsTaken() throws {
        let id = "-" + String(repeating: "9", count: 59) + "e+99"
        let reply = try #require(rpc.send(#"{"jsonrpc":"2.0","id":\#(id),"method":"catalog.plans"}"#))
        #expect(reply.hasPrefix(#"{"jsonrpc":"2.0","id":\#(id),"result""#), "\(reply)")
    }

    @Test(arguments: [
        (#"[1]"#, "null"), (#""text""#, "null"), (#"{"id":1,"method":"catalog.plans"}"#, "1"),
        (#"{"jsonrpc":"1.0","id":2,"method":"catalog.plans"}"#, "2"), (#"{"jsonrpc":"2.0","id":3,"method":7}"#, "3"),
        (#"{"jsonrpc":"2.0","id":{"a":1},"method":"catalog.plans"}"#, "null"), (#"{"jsonrpc":"2.0","id":true,"method":"x"}"#, "null"),
    ])
    func malformedRequestsAreInvalidRequests(line: String, id: String) throws {
        let reply = try #require(rpc.send(line))
        #expect(reply.contains(#""code":-32600"#), "\(reply)")
        #expect(reply.hasPrefix(#"{"jsonrpc":"2.0","id":\#(id),"error""#) || line.hasPrefix("["), "\(reply)")
    }

    @Test func anUnknownMethodIsMethodNotFound() throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":9,"method":"keys.steal"}"#)
        #expect(reply.errorCode == -32601)
        #expect(reply.errorData?["httpStatus"] as? Int == 404)
    }

    @Test(arguments: [
        (#"{"organizationId":"o","name":"n","kind":"owner_integration"}"#, "capabilities", "is required"),
        (#"{"organizationId":"o","name":"n","kind":"owner_integration","capabilities":["a",7]}"#, "capabilities[1]", "must be text"),
        (#"{"organizationId":"o","name":"n","kind":"owner_integration","capabilities":[],"rateLimit":6.05e1}"#, "rateLimit", "whole number"),
        (#"{"organizationId":"o","name":"n","kind":"owner_integration","capabilities":[],"rateLimit":99999999999999999999.5}"#, "rateLimit", "whole number"),
        (#"{"organizationId":"o","name":"n","kind":"owner_integration","capabilities":[],"expiresAt":"tomorrow"}"#, "expiresAt", "RFC 3339"),
        (#"{"organizationId":"o","name":"n","kind":"owner_integration","capabilities":[],"color":"red"}"#, "color", "not known"),
        (#"{"organizationId":null,"name":"n","kind":"owner_integration","capabilities":[]}"#, "organizationId", "is required"),
        (#"{"organizationId":"o","name":"n","kind":"owner_integration","capabilities":[],"locale":5}"#, "locale", "must be text"),
    ])
    func badParamsAreInvalidParamsNamingTheField(params: String, field: String, message: String) throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.create","params":\#(params)}"#)
        #expect(reply.errorCode == -32602)
        #expect(reply.errorData?["field"] as? String == field)
        #expect((reply.errorData?["message"] as? String)?.contains(message) == true, "\(reply)")
    }

    /// A whole number is one in any of JSON's notations, as JSON Schema's
    /// `integer` (what rpc.discover publishes) takes it: a client whose
    /// numbers are floating-point writes `100.0`, and was refused what its
    /// schema validator accepted. A fraction is still refused, never
    /// rounded, however many digits away; a whole number beyond 64 bits is
    /// refused by the param's range, which tells the caller what to send.
    @Test(arguments: [
        ("100", "result"), ("100.0", "result"), ("1e2", "result"), ("1E+2", "result"), ("0.1e3", "result"),
        ("1000e-1", "result"), ("1.5e1", "result"), ("0.000015e6", "result"),
        ("100.5", "fraction"), ("1e-2", "fraction"), ("1.55e1", "fraction"),
        ("100.000000000000000000000000000000000001", "fraction"), ("12345678901234567890123456789e-20", "fraction"),
        ("9223372036854775808.5", "fraction"),
        ("0", "range"), ("0e5", "range"), ("-0.0", "range"), ("201", "range"), ("1e19", "range"), ("-1e19", "range"),
        ("9223372036854775808.0", "range"), ("18446744073709551617", "range"), ("1e400", "range"),
        ("-9223372036854775808", "range"),
    ])
    func aWholeNumberIsReadInAnyNotation(number: String, expected: String) throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.list","params":{"organizationId":"o","limit":\#(number)}}"#)
        switch expected {
        case "result":
            #expect(reply.result?["keys"] is [Any], "\(reply)")
        case "fraction":
            #expect(reply.errorCode == -32602 && reply.errorData?["field"] as? String == "limit", "\(reply)")
            #expect((reply.errorData?["message"] as? String)?.contains("whole number") == true, "\(reply)")
        default:
            #expect(reply.errorData?["code"] as? String == "invalid_limit", "\(reply)")
            #expect(reply.errorData?["field"] as? String == "limit", "\(reply)")
        }
    }

    /// A member no type reads is refused inside an array of objects too,
    /// named by its place: a leak report's misspelt `locaton` would
    /// otherwise be dropped, and the report filed without where the key
    /// was found.
    @Test func anUnknownMemberInsideAnArrayIsInvalidParamsNamingItsPlace() throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.reportLeaked","params":{"keys":["#
            + #"{"key":"kg_live_x","location":"a"},{"key":"kg_live_y","locaton":"b"}]}}"#)
        #expect(reply.errorCode == -32602, "\(reply)")
        #expect(reply.errorData?["field"] as? String == "keys[1].locaton", "\(reply)")
    }

    /// A member's name is read as JSON compares it, code point by code
    /// point: `idempotency\u212Aey` (KELVIN SIGN for the K) is no
    /// `idempotencyKey`, though Swift's `==` holds the two equal and once
    /// recorded usage under it.
    @Test func aMemberNameInAnEquivalentSpellingIsNotTheMember() throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"usage.record","params":{"organizationId":"org_a","#
            + #""meter":"api.requests","amount":1,"idempotency\u212Aey":"once"}}"#)
        #expect(reply.errorCode == -32602, "\(reply)")
        #expect(reply.errorData?["field"] as? String == "idempotencyKey", "\(reply)")
    }

    /// `usage.get`'s days are RFC 3339 full dates: a day no calendar has
    /// (February 30th, a 29th in a common year), a padded or short one, is
    /// refused naming the field, not read as a day of the next month.
    @Test(arguments: [
        ("2026-02-30", "2026-03-31", "from"), ("2026-01-01", "2026-02-29", "to"), ("2026-12-3 ", "2026-12-31", "from"),
        ("2026-1-01", "2026-12-31", "from"), ("2026-01-01", "2026-01-01T00:00:00Z", "to"), ("2026-01-01", "+026-01-01", "to"),
    ])
    func usageDaysThatAreNotDatesAreInvalidParams(from: String, to: String, field: String) throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"usage.get","params":{"organizationId":"o","from":"\#(from)","to":"\#(to)"}}"#)
        #expect(reply.errorCode == -32602, "\(reply)")
        #expect(reply.errorData?["field"] as? String == field, "\(reply)")
    }

    /// A leap day, and the days before the Gregorian calendar began, which
    /// RFC 3339 counts by its rules too (October 5th to 14th, 1582, are
    /// days), are days.
    @Test(arguments: [("2028-02-29", "2028-02-29"), ("1582-10-05", "1582-10-14"), ("0000-01-01", "0000-12-31")])
    func usageDaysAreEveryDayRFC3339Writes(from: String, to: String) throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"usage.get","params":{"organizationId":"o","from":"\#(from)","to":"\#(to)"}}"#)
        #expect((reply["result"] as? [String: Any])?["days"] as? [Any] != nil, "\(reply)")
    }

    /// Values the service checks, each refused with its code and the field
    /// at fault, in the caller's language, and the process goes on.
    @Test(arguments: [
        ("subscriptions.setPlan", #"{"organizationId":"o","plan":"pro","eventId":"\#(String(repeating: "e", count: 201))","occurredAt":"2026-11-01T00:00:00Z"}"#,
         "invalid_event_id", "eventId"),
        ("subscriptions.setPlan", #"{"organizationId":"o","plan":"pro","eventId":"e1","occurredAt":"2026-11-01T00:00:00Z","periodStart":"2026-11-01T00:00:00Z"}"#,
         "invalid_period", "periodEnd"),
        ("subscriptions.setPlan", #"{"organizationId":"o","plan":"pro","eventId":"e1","occurredAt":"2026-11-01T00:00:00Z","periodEnd":"2026-12-01T00:00:00Z"}"#,
         "invalid_period", "periodStart"),
        ("usage.record", #"{"organizationId":"o","meter":"bookings","amount":1,"idempotencyKey":"\#(String(repeating: "i", count: 201))"}"#,
         "invalid_idempotency_key", "idempotencyKey"),
        ("usage.get", #"{"organizationId":"o","from":"2025-01-01","to":"2026-01-02"}"#, "invalid_date_range", "from"),
        ("usage.get", #"{"organizationId":"o","from":"2026-01-02","to":"2026-01-01"}"#, "invalid_date_range", "to"),
    ])
    func valuesTheServiceChecksAreRefusedNamingTheField(method: String, params: String, code: String, field: String) throws {
        for locale in ["en", "pl"] {
            let withLocale = params.dropLast() + #","locale":"\#(locale)"}"#
            let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"\#(method)","params":\#(withLocale)}"#)
            #expect(reply.errorData?["code"] as? String == code, "\(reply)")
            #expect(reply.errorData?["field"] as? String == field, "\(reply)")
            let message = reply.errorData?["message"] as? String ?? ""
            #expect(!message.isEmpty && !message.contains("{") && !message.contains(code), "\(reply)")
        }
        #expect(rpc.send(#"{"jsonrpc":"2.0","id":2,"method":"catalog.plans"}"#)?.contains(#""result""#) == true)
    }

    /// An optional param given as null is one left out: an update with
    /// null expiry and limit keeps both, and changes only what it names.
    @Test func aNullOptionalParamIsOneLeftOut() throws {
        _ = try rpc.request("subscriptions.setPlan", ["organizationId": "o", "plan": "pro", "eventId": "e1",
                                                      "occurredAt": "2026-11-01T00:00:00Z"])
        let created = try #require(try rpc.request("keys.create", [
            "organizationId": "o", "name": "a", "kind": "owner_integration", "capabilities": ["booking.read"], "rateLimit": 90,
        ]).result?["key"] as? [String: Any])
        let updated = try #require(try rpc.request("keys.update", [
            "organizationId": "o", "keyId": created["id"]!, "name": "b", "expiresAt": NSNull(), "rateLimit": NSNull(),
            "capabilities": NSNull(), "allowedOrigins": NSNull(), "actor": NSNull(),
        ]).result)
        #expect(updated["name"] as? String == "b")
        for field in ["expiresAt", "rateLimit", "capabilities", "allowedOrigins"] {
            #expect("\(updated[field]!)" == "\(created[field]!)", "\(field)")
        }
    }

    /// A key imported as itself names its environment; one that says
    /// another is refused, saying which it is, and the batch goes on.
    @Test func anImportedKeyOfAnotherEnvironmentThanGivenIsRefusedSayingWhich() throws {
        _ = try rpc.request("subscriptions.setPlan", ["organizationId": "o", "plan": "pro", "eventId": "e1",
                                                      "occurredAt": "2026-11-01T00:00:00Z"])
        let format = KeyFormat(prefix: "kg", environments: ["live", "test"])
        let (key, other) = (format.generate(environment: "live").unredacted, format.generate(environment: "live").unredacted)
        let reply = try rpc.request("keys.import", ["organizationId": "o", "keys": [
            ["name": "a", "kind": "owner_integration", "capabilities": ["booking.read"], "key": key, "environment": "test"],
            ["name": "b", "kind": "owner_integration", "capabilities": ["booking.read"], "key": other],
        ]])
        let results = try #require((reply["result"] as? [String: Any])?["results"] as? [[String: Any]], "\(reply)")
        #expect(results.map { $0["status"] as? String } == ["refused", "imported"])
        let refusal = try #require(results.first?["error"] as? [String: Any])
        #expect(refusal["code"] as? String == "unknown_environment" && refusal["field"] as? String == "environment")
        #expect(refusal["message"] as? String == "This is a live key; leave environment out or give “live”.", "\(refusal)")
    }

    /// SQLite (through GRDB) and libpq both take text only as far as its
    /// first NUL: text that holds one never stands for the text before it.
    /// An idempotency key or a billing event id with one is refused (two
    /// such keys were one, their second count dropped); a key id with one
    /// names no key (it found the key named by what came before).
    @Test(arguments: Backend.available) func textWithANulNeverStandsForTheTextBeforeIt(_ backend: Backend) throws {
        let rpc = try RPCFixture(backend: backend)
        _ = try rpc.request("subscriptions.setPlan", ["organizationId": "o", "plan": "pro", "eventId": "e1",
                                                      "occurredAt": "2026-11-01T00:00:00Z"])
        let refused = try rpc.request("usage.record", ["organizationId": "o", "meter": "bookings", "amount": 1, "idempotencyKey": "k\u{0}a"])
        #expect(refused.errorData?["code"] as? String == "invalid_idempotency_key", "\(refused)")
        #expect(refused.errorData?["field"] as? String == "idempotencyKey")
        for (key, used) in [("k", 1), ("k\u{1F}", nil), ("k2", 2)] as [(String, Int?)] {
            let reply = try rpc.request("usage.record", ["organizationId": "o", "meter": "bookings", "amount": 1, "idempotencyKey": key])
            #expect(reply.result?["used"] as? Int == used, "\(key.debugDescription): \(reply)")
        }
        let event = try rpc.request("subscriptions.setPlan", ["organizationId": "o", "plan": "starter", "eventId": "e1\u{0}b",
                                                              "occurredAt": "2026-11-02T00:00:00Z"])
        #expect(event.errorData?["code"] as? String == "invalid_event_id" && event.errorData?["field"] as? String == "eventId",
                "\(event)")

        let created = try #require(try rpc.request("keys.create", ["organizationId": "o", "name": "n", "kind": "owner_integration",
                                                                   "capabilities": ["booking.read"]]).result)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        for method in ["keys.get", "keys.stopPreviousSecrets", "keys.revoke", "keys.delete"] {
            let reply = try rpc.request(method, ["organizationId": "o", "keyId": keyId + "\u{0}x"])
            #expect(reply.errorData?["code"] as? String == "not_found" && reply.errorData?["field"] as? String == "keyId",
                    "\(method): \(reply)")
        }
        let usage = try rpc.request("usage.get", ["organizationId": "o", "keyId": keyId + "\u{0}x", "from": "2026-01-01", "to": "2026-12-31"])
        #expect(usage.errorData?["code"] as? String == "not_found", "\(usage)")
        #expect((try rpc.request("keys.get", ["organizationId": "o", "keyId": keyId]).result?["status"]) as? String == "active")
    }

    @Test func paramsByPositionAreRefused() throws {
        let reply = try rpc.call(#"{"jsonrpc":"2.0","id":1,"method":"keys.list","params":["org_1"]}"#)
        #expect(reply.errorCode == -32602)
        #expect(reply.errorData?["field"] as? String == "params")
    }

    @Test func notificationsAreNeverAnswered() {
        #expect(rpc.send(#"{"jsonrpc":"2.0","method":"catalog.plans"}"#) == nil)
        #expect(rpc.send(#"{"jsonrpc":"2.0","method":"no.such.method"}"#) == nil)
        #expect(rpc.send(#"{"jsonrpc":"2.0","method":"keys.list","params":{"bad":1}}"#) == nil)
        #expect(rpc.send(#"[{"jsonrpc":"2.0","method":"catalog.plans"},{"jsonrpc":"2.0","method":"x"}]"#) == nil)
    }

    @Test func aBatchAnswersEachRequestAndNoNotification() throws {
        let reply = try #require(rpc.send("""
            [{"jsonrpc":"2.0","id":1,"method":"catalog.plans"},{"jsonrpc":"2.0","method":"catalog.plans"},\
            {"jsonrpc":"2.0","id":"b","method":"nope"},5]
            """))
        let replies = try #require(try JSONSerialization.jsonObject(with: Data(reply.utf8)) as? [[String: Any]])
        #expect(replies.count == 3)
        #expect(replies[0]["id"] as? Int == 1 && replies[0]["result"] != nil)
        #expect(replies[1]["id"] as? String == "b" && replies[1].errorCode == -32601)
        #expect(replies[2]["id"] is NSNull && replies[2].errorCode == -32600)
    }

    @Test func anEmptyBatchIsOneInvalidRequest() throws {
        let reply = try rpc.call("[]")
        #expect(reply.errorCode == -32600 && reply["id"] is NSNull)
    }

    @Test func internalErrorsRevealNothing() throws {
        struct Secret: Error { let path = "/var/lib/keygate/secret" }
        let rpc = try RPCFixture { table in
            table.register(Explode.self) { _, _ in throw Secret() }
        }
        let reply = try #require(rpc.send(#"{"jsonrpc":"2.0","id":1,"method":"test.explode"}"#))
        #expect(reply.contains(#""code":-32603"#))
        #expect(!reply.contains("Secret") && !reply.contains("/var/lib"))
    }

    @Test func messagesFollowTheRequestsLocaleButCodesNever() throws {
        var codes: Set<String> = []
        var messages: Set<String> = []
        for locale in ["en", "pl-PL", "de-AT"] {
            let reply = try rpc.request("keys.create", [
                "organizationId": "org_1", "name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
                "locale": locale,
            ])
            codes.insert(reply.errorData?["code"] as? String ?? "")
            messages.insert(reply.errorData?["message"] as? String ?? "")
        }
        #expect(codes == ["plan_forbids_api_keys"])
        #expect(messages.count == 3)
    }
}

enum Explode: RPCMethod {
    static let name = "test.explode"
    static let summary = "Fails."
    struct Params: Decodable, Sendable {}
    typealias Result = Bool
}
