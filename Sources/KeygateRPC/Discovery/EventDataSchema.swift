import KeygateJSON
import KeyStore

/// The `data` of each event type, as the stores write it (docs/PROTOCOL.md,
/// "Events"): what a product's notifier may rely on, published so that a
/// consumer can generate its types and the contract test holds every event
/// read against it. Names from the catalog (kinds, plans, capabilities) are
/// plain strings: an event keeps the name it was written with after the
/// catalog drops it.
enum EventDataSchema {
    /// An event's schema: `base` (its members) with its `data` by its `type`.
    static func event(base: JSON) -> JSON {
        guard case .object(var members) = base else { return base }
        members.append(("allOf", .array(EventType.all.map { type in
            [
                "if": ["properties": ["type": ["const": .string(type.rawValue)]], "required": ["type"]],
                "then": ["properties": ["data": data(of: type)]],
            ]
        })))
        return .object(members)
    }

    static func data(of type: EventType) -> JSON {
        let text: JSON = ["type": "string"]
        let time: JSON = ["type": "string", "format": "date-time"]
        let key: [(String, JSON)] = [("keyId", text), ("name", text), ("hint", text), ("kind", text), ("environment", text)]
        let keyNames = key.map(\.0)
        switch type {
        case .keyCreated:
            return Schema.object(key + [("capabilities", ["type": "array", "items": text])], required: keyNames + ["capabilities"])
        case .keyImported:
            return Schema.object(key + [("source", ["type": "string", "enum": ["key", "sha256"]])], required: keyNames + ["source"])
        case .keyUpdated:
            // Each field changed, from what to what; only those.
            func change(_ value: JSON) -> JSON { Schema.object([("from", value), ("to", value)], required: ["from", "to"]) }
            let texts: JSON = ["type": "array", "items": text]
            let changes: JSON = [
                "type": "object", "minProperties": 1, "additionalProperties": false,
                "properties": .object([
                    ("name", change(text)), ("capabilities", change(texts)), ("rateLimit", change(["type": "integer"])),
                    ("allowedOrigins", change(texts)),
                    // `from` is null for a key that had no expiry.
                    ("expiresAt", Schema.object([("from", Schema.nullable(time)), ("to", time)], required: ["from", "to"])),
                ]),
            ]
            return Schema.object(key + [("changes", changes)], required: keyNames + ["changes"])
        case .keyRotated:
            return Schema.object(key + [("previousSecretExpiresAt", Schema.nullable(time))],
                                 required: keyNames + ["previousSecretExpiresAt"])
        case .keyPreviousSecretsStopped:
            // `hint` is null for a secret rotated out before stores kept it.
            let secret = Schema.object([("hint", Schema.nullable(text)), ("expiresAt", time)], required: ["hint", "expiresAt"])
            return Schema.object(key + [("secrets", ["type": "array", "items": secret, "minItems": 1])],
                                 required: keyNames + ["secrets"])
        case .keyRevoked:
            // `reason` only when a leak report revoked it.
            return Schema.object(key + [("reason", text)], required: keyNames)
        case .keyLeakReported:
            // `hint` is the reported secret's; `secretExpiresAt` only when
            // it is one a rotation left in its grace period.
            return Schema.object(key + [("action", ["type": "string", "enum": ["revoked", "flagged"]]), ("location", text),
                                        ("secretExpiresAt", time)],
                                 required: keyNames + ["action"])
        case .planChanged:
            let status: JSON = ["type": "string", "enum": .array(SubscriptionStatus.allCases.map { .string($0.rawValue) })]
            return Schema.object([("plan", text), ("previousPlan", text), ("billedPlan", text), ("status", status)],
                                 required: ["plan", "previousPlan", "billedPlan", "status"])
        case .keysSuspended, .keysRestored:
            return Schema.object([("keyIds", ["type": "array", "items": text, "minItems": 1]), ("plan", text), ("previousPlan", text)],
                                 required: ["keyIds", "plan", "previousPlan"])
        case .keyExpiring, .keyExpired:
            return Schema.object(key + [("expiresAt", time)], required: keyNames + ["expiresAt"])
        case .quotaThreshold:
            return Schema.object([("meter", text), ("threshold", ["type": "integer", "enum": [80, 100]]),
                                  ("limit", ["type": "integer"]), ("used", ["type": "integer"]), ("periodStart", time)],
                                 required: ["meter", "threshold", "limit", "used", "periodStart"])
        case .organizationErased:
            return Schema.object([("keys", ["type": "integer", "minimum": 0])], required: ["keys"])
        default:
            // A type this table does not know yet is published as what it surely is.
            return ["type": "object"]
        }
    }
}
