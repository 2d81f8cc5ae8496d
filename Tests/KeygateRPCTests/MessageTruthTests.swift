import Foundation
import KeyStore
import KeygateTestSupport
import KeygateJSON
import Testing

/// What a caller reads: messages with every value filled in, refusals that
/// say what is allowed, and times that read back as they were written.
@Suite("Messages and values callers read")
struct MessageTruthTests {
    let rpc: RPCFixture

    init() throws {
        rpc = try RPCFixture()
        _ = try rpc.request("subscriptions.setPlan", [
            "organizationId": "org_1", "plan": "pro", "eventId": "evt_1", "occurredAt": "2026-11-01T00:00:00Z",
        ])
    }

    /// Every type of event, read in every language: a sentence with every
    /// value filled in, never a placeholder or the bare type.
    @Test func everyEventReadsAsASentenceInEveryLanguage() throws {
        func result(_ method: String, _ params: [String: Any]) throws -> [String: Any] {
            try #require(try rpc.request(method, params).result)
        }
        let org: [String: Any] = ["organizationId": "org_1"]
        func with(_ extra: [String: Any]) -> [String: Any] { org.merging(extra) { $1 } }
        let key = ["name": "Zapier", "kind": "owner_integration", "capabilities": ["booking.read"]] as [String: Any]
        let created = try result("keys.create", with(key))
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        _ = try result("keys.rotate", with(["keyId": keyId, "gracePeriodSeconds": 0]))
        _ = try result("keys.update", with(["keyId": keyId, "name": "Zapier 2", "capabilities": ["booking.read", "booking.create"],
                                            "rateLimit": 30, "allowedOrigins": ["https://shop.example"],
                                            "expiresAt": ISO8601DateFormatter().string(from: Date() + 86_400 * 30)]))
        let other = try result("keys.create", with(key.merging(["expiresAt": ISO8601DateFormatter().string(from: Date() + 86_400 * 3)]) { $1 }))
        _ = try result("keys.reportLeaked", ["keys": [["key": try #require(other["secret"] as? String), "location": "a gist"]],
                                             "action": "flag"])
        _ = try rpc.service.sweepEvents()
        _ = try result("keys.import", with(["keys": [key.merging(["sha256": String(repeating: "ab", count: 32)]) { $1 }]]))
        _ = try result("subscriptions.setPlan", with(["plan": "free", "eventId": "evt_2", "occurredAt": "2026-11-02T00:00:00Z"]))
        _ = try result("subscriptions.setPlan", with(["plan": "pro", "eventId": "evt_3", "occurredAt": "2026-11-03T00:00:00Z"]))
        _ = try result("usage.record", with(["meter": "bookings", "amount": 1, "idempotencyKey": "b1"]))
        _ = try result("keys.rotate", with(["keyId": keyId, "gracePeriodSeconds": 600]))
        _ = try result("keys.stopPreviousSecrets", with(["keyId": keyId]))
        let rotatedSecret = try #require((try result("keys.rotate", with(["keyId": keyId]))["secret"]) as? String)
        _ = try result("keys.reportLeaked", ["keys": [["key": rotatedSecret]]])
        try rpc.storage.appendEvent(NewEvent(type: .keyExpired, organizationId: "org_1", keyId: keyId,
                                             data: ["keyId": "k", "name": "Old", "hint": "kg_live_…abcd", "kind": "owner_integration",
                                                    "environment": "live", "expiresAt": "2026-11-01T00:00:00.000Z"]))
        try rpc.storage.appendEvent(.quotaThreshold(organizationId: "org_1", meter: "bookings", periodStart: Date(),
                                                    limit: 100, used: 80, threshold: 80))
        _ = try result("keys.delete", with(["keyId": keyId]))
        _ = try result("subscriptions.setPlan", with(["plan": "pro", "status": "canceled", "eventId": "evt_9",
                                                      "occurredAt": "2026-11-04T00:00:00Z"]))
        // Another organization's, whose erasure leaves only its own event.
        let gone: [String: Any] = ["organizationId": "org_gone"]
        _ = try result("subscriptions.setPlan", gone.merging(["plan": "pro", "eventId": "evt_g", "occurredAt": "2026-11-01T00:00:00Z"]) { $1 })
        _ = try result("keys.create", gone.merging(key) { $1 })
        _ = try result("organizations.erase", gone)

        for locale in ["en", "pl", "de"] {
            let events = try #require(try result("events.list", ["limit": 200, "locale": locale])["events"] as? [[String: Any]])
            let types = Set(events.compactMap { $0["type"] as? String })
            #expect(types == Set(EventType.all.map(\.rawValue)), "\(locale): \(types)")
            // A canceled subscription says so.
            let canceled = events.first { $0["type"] as? String == "plan.changed" && ($0["data"] as? [String: Any])?["status"] as? String == "canceled" }
            #expect((canceled?["message"] as? String)?.hasPrefix(["en": "The subscription was canceled", "pl": "Subskrypcję anulowano",
                                                                  "de": "Das Abonnement wurde gekündigt"][locale]!) == true,
                    "\(locale): \(canceled ?? [:])")
            let erased = events.first { $0["type"] as? String == "organization.erased" }
            #expect(erased?["organizationId"] as? String == "org_gone" && erased?["message"] as? String == [
                "en": "The organization and everything Keygate stored of it were erased, 1 key included.",
                "pl": "Usunięto organizację i wszystko, co Keygate o niej przechowywał, w tym 1 klucz.",
                "de": "Die Organisation und alles, was Keygate über sie gespeichert hatte, wurden gelöscht, darunter 1 Schlüssel.",
            ][locale]!, "\(locale): \(erased ?? [:])")
            // What an update changed, each field by the name a person knows it by.
            let updated = events.first { $0["type"] as? String == "key.updated" }?["message"] as? String
            #expect(updated?.hasSuffix([
                "en": ": name, permissions, rate limit, allowed origins, expiry date.",
                "pl": ": nazwa, uprawnienia, limit zapytań, dozwolone źródła, data wygaśnięcia.",
                "de": " wurde geändert: Name, Berechtigungen, Ratenlimit, erlaubte Ursprünge, Ablaufdatum.",
            ][locale]!) == true, "\(locale): \(updated ?? "none")")
            for event in events {
                let message = try #require(event["message"] as? String)
                #expect(!message.contains("{") && !message.contains("%#@") && !message.contains("%arg") && message != event["type"] as? String,
                        "\(locale) \(event["type"] ?? ""): \(message)")
            }
        }
    }

    /// A flagged secret that a rotation left in its grace period works to
    /// its deadline whatever the holder rotates: the event's message names
    /// that secret, its deadline to the minute, and that revoking stops it.
    @Test func aReportedEarlierSecretSaysUntilWhenItWorks() throws {
        func result(_ method: String, _ params: [String: Any]) throws -> [String: Any] {
            try #require(try rpc.request(method, params).result)
        }
        let created = try result("keys.create", ["organizationId": "org_1", "name": "Zapier", "kind": "owner_integration",
                                                 "capabilities": ["booking.read"]])
        let key = try #require(created["key"] as? [String: Any])
        let keyId = try #require(key["id"] as? String)
        let hint = try #require(key["hint"] as? String)
        let rotated = try result("keys.rotate", ["organizationId": "org_1", "keyId": keyId, "gracePeriodSeconds": 7_200])
        let deadlineText = try #require(rotated["previousSecretExpiresAt"] as? String)
        let deadline = try #require(RFC3339.date(deadlineText))
        let secret = try #require(created["secret"] as? String)
        let findings = try result("keys.reportLeaked", ["keys": [["key": secret], ["key": secret, "location": "a gist"]],
                                                        "action": "flag"])
        #expect((findings["results"] as? [[String: Any]])?.map { $0["hint"] as? String } == [hint, hint])

        let utc = TimeZone(identifier: "UTC")!
        for (locale, words) in [("en", "works until"), ("pl", "działa do"), ("de", "funktioniert bis")] {
            let page = try result("events.list", ["organizationId": "org_1", "limit": 200, "locale": locale])
            let events = try #require(page["events"] as? [[String: Any]])
            let messages = events.filter { $0["type"] as? String == "key.leak_reported" }.compactMap { $0["message"] as? String }
            let minute = deadline.formatted(Date.FormatStyle(locale: Locale(identifier: locale), timeZone: utc).hour().minute())
            #expect(messages.count == 2, "\(locale): \(messages)")
            for message in messages {
                #expect(message.contains(hint) && message.contains(words) && message.contains(minute) && !message.contains("{"),
                        "\(locale): \(message)")
            }
            #expect(messages.last?.contains("a gist") == true, "\(locale): \(messages)")
        }
    }

    /// A dashboard shows which earlier secrets of a key still work: the
    /// rotation's answer, `keys.get` and `keys.list` name each by the hint
    /// it had, with its deadline, soonest first, until it passes; a revoked
    /// key has none, whatever their deadlines.
    @Test(arguments: Backend.withPooler) func aRotatedKeyShowsTheEarlierSecretsStillWorking(_ backend: Backend) throws {
        let clock = ManualClock(RFC3339.date("2026-11-22T12:00:00Z")!)
        let rpc = try RPCFixture(backend: backend, clock: clock)
        func result(_ method: String, _ params: [String: Any]) throws -> [String: Any] {
            try #require(try rpc.request(method, params).result)
        }
        _ = try result("subscriptions.setPlan", [
            "organizationId": "org_1", "plan": "pro", "eventId": "evt_1", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        let created = try result("keys.create", ["organizationId": "org_1", "name": "Zapier", "kind": "owner_integration",
                                                 "capabilities": ["booking.read"]])
        let key = try #require(created["key"] as? [String: Any])
        let keyId = try #require(key["id"] as? String)
        let firstHint = try #require(key["hint"] as? String)
        #expect(key["previousSecrets"] as? [Any] != nil && (key["previousSecrets"] as? [Any])?.isEmpty == true)
        let target: [String: Any] = ["organizationId": "org_1", "keyId": keyId]

        let second = try result("keys.rotate", target.merging(["gracePeriodSeconds": 86_400]) { $1 })
        let secondHint = try #require((second["key"] as? [String: Any])?["hint"] as? String)
        clock.advance(by: 3_600)
        let third = try result("keys.rotate", target.merging(["gracePeriodSeconds": 600]) { $1 })
        func shown(_ info: Any?) -> [[String?]] {
            ((info as? [String: Any])?["previousSecrets"] as? [[String: Any]] ?? []).map {
                [$0["hint"] as? String, $0["expiresAt"] as? String]
            }
        }
        let expected = [[secondHint, "2026-11-22T13:10:00.000Z"], [firstHint, "2026-11-23T12:00:00.000Z"]]
        #expect(shown(third["key"]) == expected)
        #expect(shown(try result("keys.get", target)) == expected)
        let listed = try #require(try result("keys.list", ["organizationId": "org_1"])["keys"] as? [Any])
        #expect(shown(listed.first) == expected)
        #expect(shown(try #require(try result("keys.list", ["organizationId": "org_1", "status": "active"])["keys"] as? [Any]).first)
            == expected)

        // The gateway learns until when the secret it was sent works, to tell the integration in time.
        let firstSecret = try #require(created["secret"] as? String)
        let verified = try result("keys.verify", ["key": firstSecret, "capability": "booking.read"])
        #expect(verified["valid"] as? Bool == true && verified["secretExpiresAt"] as? String == "2026-11-23T12:00:00.000Z")
        let current = try #require(third["secret"] as? String)
        #expect(try result("keys.verify", ["key": current])["secretExpiresAt"] is NSNull)

        clock.advance(by: 600)
        #expect(shown(try result("keys.get", target)) == [[firstHint, "2026-11-23T12:00:00.000Z"]])
        #expect(shown(try result("keys.revoke", target)).isEmpty)
        #expect(shown(try result("keys.get", target)).isEmpty)
    }

    /// A rotation refused for the earlier secrets the key already has says
    /// how many it may have and what to do, in every language.
    @Test func aRotationPastTheEarlierSecretsAKeyMayHaveSaysWhatToDo() throws {
        let created = try #require(try rpc.request("keys.create", ["organizationId": "org_1", "name": "n", "kind": "owner_integration",
                                                                   "capabilities": ["booking.read"]]).result)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        let target: [String: Any] = ["organizationId": "org_1", "keyId": keyId, "gracePeriodSeconds": 3_600]
        for _ in 1...10 { #expect(try rpc.request("keys.rotate", target).result != nil) }
        for (locale, words) in [("en", "rotate without a grace period"), ("pl", "bez okresu przejściowego"),
                                ("de", "ohne Übergangsfrist")] {
            let reply = try rpc.request("keys.rotate", target.merging(["locale": locale]) { $1 })
            let message = try #require(reply.errorData?["message"] as? String)
            #expect(reply.errorData?["code"] as? String == "too_many_previous_secrets" && reply.errorData?["httpStatus"] as? Int == 409)
            #expect(reply.errorData?["field"] as? String == "gracePeriodSeconds")
            #expect(message.contains("10") && message.contains(words) && !message.contains("%") && !message.contains("{"),
                    "\(locale): \(message)")
        }
        #expect(try rpc.request("keys.rotate", target.merging(["gracePeriodSeconds": 0]) { $1 }).result != nil)
    }

    @Test func aKindIsNamedInEveryLanguageNeverAsAPlaceholder() throws {
        for (locale, name) in [("en", "Booking partner"), ("pl", "Partner rezerwacji"), ("de", "Buchungspartner")] {
            let reply = try rpc.request("keys.create", [
                "organizationId": "org_1", "name": "n", "kind": "booking_partner", "capabilities": ["webhook.manage"],
                "locale": locale,
            ])
            let message = try #require(reply.errorData?["message"] as? String)
            #expect(reply.errorData?["code"] as? String == "capability_not_allowed_for_kind")
            #expect(!message.contains("{"), "\(message)")
            #expect(message.contains(name) || locale != "en", "\(message)")
        }
    }

    @Test func aNameWithAControlCharacterIsRefusedNamingIt() throws {
        let reply = try rpc.request("keys.create", [
            "organizationId": "org_1", "name": "Zap\u{200B}ier", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])
        #expect(reply.errorData?["code"] as? String == "invalid_name")
        #expect((reply.errorData?["message"] as? String)?.contains("U+200B") == true)
    }

    @Test func anUnknownStatusIsRefusedNamingTheAllowedOnes() throws {
        let list = try rpc.request("keys.list", ["organizationId": "org_1", "status": "paused"])
        #expect(list.errorCode == -32602 && list.errorData?["field"] as? String == "status")
        #expect(list.errorData?["message"] as? String
            == "The parameter “status” must be one of: active, expired, revoked, suspended.")
        let plan = try rpc.request("subscriptions.setPlan", [
            "organizationId": "org_1", "plan": "pro", "eventId": "evt_2", "occurredAt": "2026-11-02T00:00:00Z", "status": "x",
        ])
        #expect((plan.errorData?["message"] as? String)?.contains("active, trialing, past_due, canceled") == true)
    }

    /// `evt_1` (set up above) sent again for Starter: a conflict that says
    /// which field differs, in the caller's language.
    @Test func anEventIdReusedForAnotherPlanSaysWhatDiffers() throws {
        for (locale, words) in [("en", "different plan"), ("pl", "pola plan"), ("de", "in plan")] {
            let reply = try rpc.request("subscriptions.setPlan", [
                "organizationId": "org_1", "plan": "starter", "eventId": "evt_1", "occurredAt": "2026-11-01T00:00:00Z",
                "locale": locale,
            ])
            #expect(reply.errorCode == -32003 && reply.errorData?["httpStatus"] as? Int == 409, "\(reply)")
            #expect(reply.errorData?["code"] as? String == "event_id_reused" && reply.errorData?["field"] as? String == "eventId")
            #expect((reply.errorData?["message"] as? String)?.contains(words) == true, "\(locale): \(reply)")
        }
        let replay = try #require(try rpc.request("subscriptions.setPlan", [
            "organizationId": "org_1", "plan": "pro", "eventId": "evt_1", "occurredAt": "2026-11-01T00:00:00Z",
        ]).result)
        #expect(replay["applied"] as? Bool == false && replay["reason"] as? String == "duplicate_event")
    }

    /// A use recorded under `b1` and one sent under it for another amount:
    /// a conflict that says which field differs, in the caller's language.
    @Test func anIdempotencyKeyReusedForAnotherAmountSaysWhatDiffers() throws {
        let use: [String: Any] = ["organizationId": "org_1", "meter": "bookings", "amount": 1, "idempotencyKey": "b1"]
        #expect(try rpc.request("usage.record", use).result?["used"] as? Int == 1)
        for (locale, words) in [("en", "different amount"), ("pl", "pola amount"), ("de", "in amount")] {
            let reply = try rpc.request("usage.record", [
                "organizationId": "org_1", "meter": "bookings", "amount": 2, "idempotencyKey": "b1", "locale": locale,
            ])
            #expect(reply.errorCode == -32003 && reply.errorData?["httpStatus"] as? Int == 409, "\(reply)")
            #expect(reply.errorData?["code"] as? String == "idempotency_key_reused"
                && reply.errorData?["field"] as? String == "idempotencyKey")
            #expect((reply.errorData?["message"] as? String)?.contains(words) == true, "\(locale): \(reply)")
        }
        #expect(try rpc.request("usage.record", use).result?["used"] as? Int == 1, "the same use again: a replay")
    }

    /// A dashboard's creation sent again after its answer was lost: no
    /// second key, and a refusal in the caller's language that names the
    /// key the first call made, never its secret.
    @Test func aCreationSentAgainNamesTheKeyItMadeAndNeverItsSecret() throws {
        let params: [String: Any] = [
            "organizationId": "org_1", "name": "Zapier", "kind": "owner_integration", "capabilities": ["booking.read"],
            "idempotencyKey": "create-form-7f3a",
        ]
        let created = try #require(try rpc.request("keys.create", params).result)
        let key = try #require(created["key"] as? [String: Any])
        let (keyId, secret) = (try #require(key["id"] as? String), try #require(created["secret"] as? String))
        for (locale, words) in [("en", "already created the key \(keyId)"), ("pl", "utworzyło już klucz \(keyId)"),
                                ("de", "den Schlüssel \(keyId) bereits erstellt")] {
            let reply = try rpc.request("keys.create", params.merging(["locale": locale]) { $1 })
            #expect(reply.errorCode == -32003 && reply.errorData?["httpStatus"] as? Int == 409, "\(reply)")
            #expect(reply.errorData?["code"] as? String == "key_already_created"
                && reply.errorData?["field"] as? String == "idempotencyKey" && reply.errorData?["keyId"] as? String == keyId)
            #expect((reply.errorData?["message"] as? String)?.contains(words) == true, "\(locale): \(reply)")
            #expect(!"\(reply)".contains(secret) && !"\(reply)".contains(String(secret.suffix(20))))
        }
        let other = try rpc.request("keys.create", params.merging(["name": "Make"]) { $1 })
        #expect(other.errorData?["code"] as? String == "idempotency_key_reused" && other.errorData?["keyId"] == nil)
        #expect((other.errorData?["message"] as? String)?.contains("different name") == true, "\(other)")
        let keys = try #require(try rpc.request("keys.list", ["organizationId": "org_1"]).result?["keys"] as? [[String: Any]])
        #expect(keys.map { $0["id"] as? String } == [keyId], "one key")
    }

    /// A rotation sent again (a timeout's retry, a job run twice): the key
    /// keeps the secret the first call answered, and the refusal names the
    /// key and how to recover a lost answer, never a secret.
    @Test func aRotationSentAgainRotatesNothingAndNeverAnswersItsSecret() throws {
        let created = try #require(try rpc.request("keys.create", [
            "organizationId": "org_1", "name": "Zapier", "kind": "owner_integration", "capabilities": ["booking.read"],
        ]).result)
        let keyId = try #require((created["key"] as? [String: Any])?["id"] as? String)
        let params: [String: Any] = [
            "organizationId": "org_1", "keyId": keyId, "gracePeriodSeconds": 3_600, "idempotencyKey": "rotate-job-12",
        ]
        let rotated = try #require(try rpc.request("keys.rotate", params).result)
        let secret = try #require(rotated["secret"] as? String)
        for (locale, words) in [("en", "already rotated the key \(keyId)"), ("pl", "rotację klucza \(keyId)"),
                                ("de", "den Schlüssel \(keyId) bereits rotiert")] {
            let reply = try rpc.request("keys.rotate", params.merging(["locale": locale]) { $1 })
            #expect(reply.errorCode == -32003 && reply.errorData?["httpStatus"] as? Int == 409, "\(reply)")
            #expect(reply.errorData?["code"] as? String == "key_already_rotated"
                && reply.errorData?["field"] as? String == "idempotencyKey" && reply.errorData?["keyId"] as? String == keyId)
            #expect((reply.errorData?["message"] as? String)?.contains(words) == true, "\(locale): \(reply)")
            #expect(!"\(reply)".contains(secret) && !"\(reply)".contains(String(secret.suffix(20))))
        }
        let other = try rpc.request("keys.rotate", params.merging(["gracePeriodSeconds": 0]) { $1 })
        #expect(other.errorData?["code"] as? String == "idempotency_key_reused" && other.errorData?["keyId"] == nil)
        #expect((other.errorData?["message"] as? String)?.contains("different gracePeriodSeconds") == true, "\(other)")
        let verified = try #require(try rpc.request("keys.verify", ["key": secret, "capability": "booking.read"]).result)
        #expect(verified["valid"] as? Bool == true, "the first answer's secret is the key's")
    }

    @Test func aCallersMistakesInVerifyAreNamedForWhatTheyAre() throws {
        let both = try rpc.request("keys.verify", ["key": "kg_live_x", "authorization": "Bearer kg_live_x"])
        #expect(both.errorData?["message"] as? String == "Give either “authorization” or “key”, not both.")
        let pathOnly = try rpc.request("keys.verify", ["key": "kg_live_x", "path": "/bookings"])
        #expect(pathOnly.errorData?["message"] as? String == "The parameter “path” needs “method” as well.")
        let capabilityAndRoute = try rpc.request("keys.verify", [
            "key": "kg_live_x", "capability": "booking.read", "method": "GET", "path": "/bookings",
        ])
        #expect(capabilityAndRoute.errorData?["field"] as? String == "method")
        // A verification's cost is called its cost, as usage.record's amount is its amount.
        let cost = try rpc.request("keys.verify", ["key": "kg_live_x", "cost": 1001])
        #expect(cost.errorData?["field"] as? String == "cost")
        #expect(cost.errorData?["message"] as? String
                == "The cost of a verification must be a whole number from 1 to 1,000: how many requests it counts as.")
        let polish = try rpc.request("keys.verify", ["key": "kg_live_x", "cost": 0, "locale": "pl"])
        #expect(polish.errorData?["message"] as? String == "Koszt weryfikacji musi być liczbą całkowitą od 1 do 1000: za tyle zapytań się liczy.")
        let amount = try rpc.request("usage.record", [
            "organizationId": "org_1", "meter": "bookings", "amount": 0, "idempotencyKey": "a0",
        ])
        #expect(amount.errorData?["field"] as? String == "amount")
        #expect(amount.errorData?["message"] as? String == "The amount must be a whole number from 1 to 1,000,000,000.")
    }

    @Test func whateverAGatewayForwardsAsAuthorizationGetsAResult() throws {
        for header in ["Basic dXNlcjpwYXNz", "kg_live_abc", "", "Bearer", String(repeating: "x", count: 10_000)] {
            let reply = try rpc.request("keys.verify", ["authorization": header])
            let result = try #require(reply.result, "\(header.prefix(20)): \(reply)")
            #expect(result["code"] as? String == "malformed" && result["httpStatus"] as? Int == 401)
        }
    }

    @Test func aKeyWithAllowedOriginsVerifiedWithoutOneSaysSo() throws {
        let created = try #require(try rpc.request("keys.create", [
            "organizationId": "org_1", "name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
            "allowedOrigins": ["https://shop.example"],
        ]).result)
        let reply = try #require(try rpc.request("keys.verify", [
            "key": created["secret"] as! String, "capability": "booking.read",
        ]).result)
        #expect(reply["code"] as? String == "origin_not_allowed")
        #expect((reply["message"] as? String)?.contains("named no origin") == true)
    }

    @Test func timesKeepTheirMillisecondsExactly() throws {
        let created = try #require(try rpc.request("keys.create", [
            "organizationId": "org_1", "name": "n", "kind": "owner_integration", "capabilities": ["booking.read"],
            "expiresAt": "2027-01-01T00:00:00.123456Z",
        ]).result)
        let key = try #require(created["key"] as? [String: Any])
        #expect(key["expiresAt"] as? String == "2027-01-01T00:00:00.123Z")
        let read = try #require(try rpc.request("keys.get", ["organizationId": "org_1", "keyId": key["id"] as! String]).result)
        #expect(read["expiresAt"] as? String == "2027-01-01T00:00:00.123Z")
    }
}

/// A verification refused for its quota names the meter in the caller's
/// language and the day the quota resets, as the catalog and the clock
/// have them.
@Suite("Quota refusals callers read")
struct QuotaRefusalMessageTests {
    @Test func aQuotaRefusalNamesTheMeterAndItsResetInTheCallersLanguage() throws {
        let clock = ManualClock(RFC3339.date("2026-11-22T12:00:00Z")!)
        let rpc = try RPCFixture(catalog: "examples/booking-engine.xml", clock: clock)
        _ = try rpc.request("subscriptions.setPlan", [
            "organizationId": "org_1", "plan": "basic", "eventId": "evt_1", "occurredAt": "2026-11-22T11:00:00Z",
        ])
        let created = try #require(try rpc.request("keys.create", [
            "organizationId": "org_1", "name": "widget", "kind": "widget", "capabilities": ["read"], "rateLimit": 120,
        ]).result)
        let secret = try #require(created["secret"] as? String)
        func verify(cost: Int, locale: String = "en") throws -> [String: Any] {
            try #require(try rpc.request("keys.verify", ["key": secret, "capability": "read", "cost": cost,
                                                         "locale": locale]).result)
        }
        // The basic plan allows 10,000 requests a day: spend them 100 a minute, within the key's 120.
        for _ in 0..<100 {
            clock.advance(by: 60)
            #expect(try verify(cost: 100)["code"] as? String == "valid")
        }
        let english = try verify(cost: 1)
        #expect(english["code"] as? String == "quota_exceeded" && english["httpStatus"] as? Int == 429)
        #expect(english["message"] as? String == "The quota for API requests is used up; it resets on November 23, 2026.")
        let polish = try verify(cost: 1, locale: "pl")
        #expect(polish["message"] as? String == "Limit „Zapytania API” został wyczerpany — odnowi się 23 listopada 2026.")
    }
}

@Suite("RFC 3339 times")
struct RFC3339Tests {
    @Test func timesReadBackToTheMillisecond() {
        for text in ["2026-11-30T12:34:56.123Z", "1970-01-01T00:00:00.000Z", "2028-02-29T23:59:59.999Z", "1969-12-31T23:59:59.001Z"] {
            #expect(RFC3339.string(RFC3339.date(text)!) == text)
        }
        #expect(RFC3339.string(RFC3339.date("2026-11-30T12:34:56.9999Z")!) == "2026-11-30T12:34:56.999Z")
        #expect(RFC3339.string(RFC3339.date("2026-11-30T14:34:56+02:00")!) == "2026-11-30T12:34:56.000Z")
        #expect(RFC3339.string(RFC3339.date("2026-11-30t12:34:56.5-00:30")!) == "2026-11-30T13:04:56.500Z")
    }

    @Test func yearsPastFourDigitsAreWrittenAsTheirNumber() {
        #expect(RFC3339.string(RFC3339.date(milliseconds: -62_167_219_200_000)) == "0000-01-01T00:00:00.000Z")
        #expect(RFC3339.string(RFC3339.date(milliseconds: 253_402_300_799_999)) == "9999-12-31T23:59:59.999Z")
        #expect(RFC3339.string(RFC3339.date(milliseconds: 253_402_300_800_000)) == "10000-01-01T00:00:00.000Z")
        #expect(RFC3339.string(RFC3339.date(milliseconds: -62_167_219_200_001)) == "-1-12-31T23:59:59.999Z")
    }

    @Test func anythingElseIsRefused() {
        for text in ["2026-02-29T00:00:00Z", "2026-13-01T00:00:00Z", "2026-11-30T24:00:00Z", "2026-11-30T12:34:56",
                     "2026-11-30T12:34:56.Z", "2026-11-30 12:34Z", "2026-11-30T12:34:56+2:00", "x2026-11-30T12:34:56Z"] {
            #expect(RFC3339.date(text) == nil, "\(text)")
        }
    }

    @Test func fullDatesAreTheStartsOfTheirDays() {
        #expect(RFC3339.date(day: "2028-02-29").map(RFC3339.string) == "2028-02-29T00:00:00.000Z")
        #expect(RFC3339.date(day: "1582-10-10").map(RFC3339.day) == "1582-10-10")
        #expect(RFC3339.date(day: "0000-01-01").map(RFC3339.milliseconds) == -62_167_219_200_000)
        for text in ["2026-02-29", "2026-02-30", "2026-04-31", "2026-12-3 ", " 2026-12-03", "2026-1-01", "+026-12-03",
                     "2026-12-03T00:00:00Z", "2026-12-03Z", "20261203", ""] {
            #expect(RFC3339.date(day: text) == nil, "\(text)")
        }
    }

    @Test func timesAgreeWithFoundationsParser() throws {
        var random = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            let milliseconds = Int64.random(in: -2_000_000_000_000...4_000_000_000_000, using: &random)
            let date = Date(timeIntervalSince1970: Double(milliseconds) / 1000)
            let text = RFC3339.string(date)
            let foundation = try Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
            #expect(abs(foundation.timeIntervalSince(date)) < 0.0005, "\(text)")
        }
    }
}

@Suite("Parsing stays linear")
struct ParserShapeTests {
    /// The nesting limit is the deepest JSON read: 64 levels of arrays or
    /// objects parse, a 65th is refused as too deep.
    @Test func jsonNestedToTheLimitParsesAndOneLevelMoreIsTooDeep() throws {
        let depth = JSONParser.maximumDepth
        _ = try JSONParser.parse(String(repeating: "[", count: depth) + String(repeating: "]", count: depth))
        _ = try JSONParser.parse(String(repeating: #"{"a":"#, count: depth) + "1" + String(repeating: "}", count: depth))
        #expect(throws: JSONParser.Failure.tooDeep) {
            try JSONParser.parse(String(repeating: "[", count: depth + 1) + String(repeating: "]", count: depth + 1))
        }
    }

    @Test func anObjectWithTensOfThousandsOfMembersParsesAndARepeatIsStillFound() throws {
        let members = (0..<50_000).map { #""m\#($0)":\#($0)"# }
        let object = "{" + members.joined(separator: ",") + "}"
        guard case .object(let parsed) = try JSONParser.parse(object) else { Issue.record("not an object"); return }
        #expect(parsed.count == 50_000)
        let repeated = "{" + members.joined(separator: ",") + #","m40000":1}"#
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(repeated) }
        #expect(throws: JSONParser.Failure.self) { try JSONParser.parse(#"{"a":1,"b":2,"a":3}"#) }
    }
}
