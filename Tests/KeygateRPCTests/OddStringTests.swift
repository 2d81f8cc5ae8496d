import Foundation
import KeygateTestSupport
import Testing

/// Every text a caller sends, in every method, replaced in turn by text a
/// form or a scanner might send (empty, huge, in several-byte scripts, with
/// control or bidirectional characters, looking like SQL or a placeholder):
/// each is answered with a result or a refusal naming its field, never an
/// internal error, and the server answers the next request as before. A
/// message that quotes the text shows it without invisible characters and
/// at most 64 characters of it.
@Suite("Odd text in every param")
struct OddStringTests {
    static let oddTexts = [
        "", " ", "\t\n", String(repeating: "鍵🔑", count: 400), String(repeating: "x", count: 20_000),
        "\u{202E}evil", "a\u{0}b", "\u{FEFF}", "e\u{301}\u{301}\u{301}", "İı", "' OR 1=1 --", "%s%n%@",
        "{name}", "../../etc/passwd", "kg_live_" + String(repeating: "A", count: 38),
    ]

    /// One request per method that takes text, with the keys and events it
    /// names in place; `only` names the params to vary where the others
    /// must stay as they are (a page cursor the first page never has).
    static func requests(keyId: String, secret: String) -> [(method: String, params: [String: Any], only: Set<String>?)] {
        let org = "org_odd"
        let key: [String: Any] = ["name": "n", "kind": "owner_integration", "capabilities": ["booking.read"]]
        let all: [(String, [String: Any])] = [
            ("subscriptions.get", ["organizationId": org]),
            ("subscriptions.setPlan", ["organizationId": org, "plan": "pro", "eventId": "e2", "occurredAt": "2026-11-01T00:00:00Z",
                                       "status": "active", "actor": "billing"]),
            ("subscriptions.preview", ["organizationId": org, "plan": "starter"]),
            ("subscriptions.quotas", ["organizationId": org]),
            ("keys.options", ["organizationId": org]),
            ("keys.create", ["organizationId": org, "name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
                             "allowedOrigins": ["https://shop.example"], "environment": "test", "actor": "ops"]),
            ("keys.list", ["organizationId": org, "status": "active"]),
            ("keys.get", ["organizationId": org, "keyId": keyId]),
            ("keys.update", ["organizationId": org, "keyId": keyId, "name": "renamed", "capabilities": ["booking.read"],
                             "allowedOrigins": ["https://shop.example"], "actor": "ops"]),
            ("keys.import", ["organizationId": org, "keys": [key.merging(["sha256": String(repeating: "ab", count: 32),
                                                                          "environment": "live"]) { $1 }],
                             "actor": "import"]),
            ("keys.reportLeaked", ["keys": [["key": secret, "location": "https://gist.example/x"]], "action": "flag",
                                   "actor": "scanner"]),
            ("keys.verify", ["key": secret, "capability": "booking.read", "origin": "https://shop.example", "ip": "192.0.2.1"]),
            ("keys.verify", ["key": secret, "method": "GET", "path": "/bookings"]),
            ("keys.verify", ["authorization": "Bearer \(secret)", "capability": "booking.read"]),
            ("usage.record", ["organizationId": org, "meter": "bookings", "amount": 1, "idempotencyKey": "u1"]),
            ("usage.get", ["organizationId": org, "keyId": keyId, "from": "2026-11-01", "to": "2026-11-30"]),
            ("audit.list", ["organizationId": org]),
            ("events.list", ["organizationId": org]),
            ("keys.rotate", ["organizationId": org, "keyId": keyId, "actor": "ops"]),
            ("keys.stopPreviousSecrets", ["organizationId": org, "keyId": keyId, "actor": "ops"]),
            ("keys.revoke", ["organizationId": org, "keyId": keyId, "actor": "ops"]),
            ("keys.delete", ["organizationId": org, "keyId": keyId, "actor": "ops"]),
            ("catalog.plans", ["locale": "pl"]),
        ]
        let cursors = ["keys.list", "audit.list", "events.list"].map { method -> (String, [String: Any], Set<String>?) in
            (method, ["organizationId": org, "cursor": "not a cursor"], ["cursor"])
        }
        return all.map { ($0.0, $0.1, nil) } + cursors
    }

    /// Every place in `params` that holds text, as a way to put other text there.
    static func textSlots(_ params: [String: Any], only: Set<String>? = nil) -> [(path: String, replace: (String) -> [String: Any])] {
        var slots: [(path: String, replace: (String) -> [String: Any])] = []
        for (name, value) in params where only?.contains(name) ?? true {
            switch value {
            case is String:
                slots.append((name, { text in params.merging([name: text]) { $1 } }))
            case let list as [String]:
                slots.append(("\(name)[0]", { text in params.merging([name: [text] + list.dropFirst()]) { $1 } }))
            case let objects as [[String: Any]]:
                for (field, inner) in textSlots(objects[0]) {
                    slots.append(("\(name)[0].\(field)", { text in params.merging([name: [inner(text)]]) { $1 } }))
                }
            default:
                break
            }
        }
        return slots
    }

    @Test(arguments: Backend.available) func oddTextAnywhereIsAnsweredAndNeverAnInternalError(_ backend: Backend) throws {
        let rpc = try RPCFixture(backend: backend)
        _ = try rpc.request("subscriptions.setPlan", ["organizationId": "org_odd", "plan": "pro", "eventId": "e1",
                                                      "occurredAt": "2026-11-01T00:00:00Z"])
        var sent = 0
        for (index, request) in Self.requests(keyId: "", secret: "").enumerated() {
            for (path, _) in Self.textSlots(request.params, only: request.only) {
                for text in Self.oddTexts {
                    // A key of its own each time, so that a revocation or deletion before leaves the next a key to name.
                    let created = try #require(try rpc.request("keys.create", [
                        "organizationId": "org_odd", "name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
                    ]).result, "no key to name")
                    let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
                    let secret = try #require(created["secret"] as? String)
                    let method = request.method
                    let base = Self.requests(keyId: keyId, secret: secret)[index]
                    let slot = Self.textSlots(base.params, only: base.only).first { $0.path == path }!
                    let reply = try rpc.request(method, slot.replace(text), id: sent)
                    sent += 1
                    let shown = text.count > 40 ? String(text.prefix(20)) + "… (\(text.utf8.count) bytes)" : text.debugDescription
                    #expect(reply.errorCode != -32603, "\(method) \(path) = \(shown): \(reply)")
                    if reply.errorCode == -32602 {
                        // The refusal names the text changed, not a field the caller never sent.
                        let field = reply.errorData?["field"] as? String ?? ""
                        #expect(!field.isEmpty && (path.hasPrefix(field) || field.hasPrefix(path)),
                                "\(method) \(path) = \(shown): \(reply)")
                    }
                    #expect(reply.result != nil || reply.errorData?["message"] is String, "\(method) \(path) = \(shown): \(reply)")
                    let message = reply.errorData?["message"] as? String ?? reply.result?["message"] as? String ?? ""
                    #expect(Self.echoesAtMost64Visible(of: text, in: message), "\(method) \(path) = \(shown): \(message)")
                    // Keys are deleted as they go: the plan holds 25 at a time.
                    _ = try rpc.request("keys.delete", ["organizationId": "org_odd", "keyId": keyId])
                }
            }
        }
        #expect(sent > 500)
        #expect(try rpc.request("catalog.plans", [:]).result != nil)
    }

    /// A member no method reads is refused by its name, which is the
    /// caller's text too: shown visible and short, a key only as its hint.
    @Test func anOddMemberNameIsNamedVisibleAndShort() throws {
        let rpc = try RPCFixture()
        let secret = "kg_live_" + String(repeating: "A", count: 38)
        for (index, request) in Self.requests(keyId: "key_x", secret: secret).enumerated() {
            for text in Self.oddTexts where !text.isEmpty && request.params[text] == nil {
                let reply = try rpc.request(request.method, request.params.merging([text: 1]) { $1 }, id: index)
                let shown = text.count > 40 ? String(text.prefix(20)) + "… (\(text.utf8.count) bytes)" : text.debugDescription
                #expect(reply.errorData?["code"] as? String == "invalid_params", "\(request.method) \(shown): \(reply)")
                let field = reply.errorData?["field"] as? String ?? ""
                let message = reply.errorData?["message"] as? String ?? ""
                #expect(!field.isEmpty && message.contains(field), "\(request.method) \(shown): \(reply)")
                #expect(Self.echoesAtMost64Visible(of: text, in: field), "\(request.method) \(shown): \(field.debugDescription)")
                #expect(Self.echoesAtMost64Visible(of: text, in: message), "\(request.method) \(shown): \(message)")
            }
        }
        _ = try rpc.request("subscriptions.setPlan", ["organizationId": "org_odd", "plan": "pro", "eventId": "e1",
                                                      "occurredAt": "2026-11-01T00:00:00Z"])
        let key = try #require(try rpc.request("keys.create", [
            "organizationId": "org_odd", "name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
        ]).result?["secret"] as? String)
        let reply = try rpc.request("keys.list", ["organizationId": "org_odd", key: 1])
        #expect(reply.errorData?["field"] as? String == "kg_live_…" + key.suffix(4), "\(reply)")
        #expect(!"\(reply)".contains(key))
    }

    /// No invisible character (a control, a bidi override, a zero-width
    /// space) in `message`, and no more than 64 characters of `text`.
    static func echoesAtMost64Visible(of text: String, in message: String) -> Bool {
        let invisible = message.unicodeScalars.contains { scalar in
            switch scalar.properties.generalCategory {
            case .control, .format, .lineSeparator, .paragraphSeparator: true
            default: false
            }
        }
        return !invisible && (text.count <= 64 || !message.contains(String(text.prefix(65))))
    }
}
