package import Foundation
package import KeygateJSON

// What every store does the same way whatever its database: checking what
// callers send, naming keys, and what the audit log says of a change. The
// SQLite and PostgreSQL stores both use these, so they cannot disagree.

/// A key about to be created, checked.
package struct CheckedNewKey {
    package let record: KeyRecord
    package let secret: RawKey
    package let digest: KeyDigest
    package let actor: String
    /// The caller's name for the creation, remembered with ``creation``.
    package let idempotencyKey: String?
    /// What was sent where a default filled in, as ``NewKey/sent`` says.
    package let sent: NewKey.SentSettings

    /// What the audit log keeps of the creation.
    package var auditDetails: [String: JSON] { record.settingsDetails }

    /// What is remembered under ``idempotencyKey``.
    package var creation: KeyCreation {
        KeyCreation(keyId: record.id, name: record.name, kind: record.kind, capabilities: record.capabilities,
                    allowedOrigins: record.allowedOrigins, sent: sent)
    }
}

extension NewKey {
    /// ``sent``, or the settings themselves where the caller gave them as they are.
    var sentSettings: SentSettings {
        sent ?? SentSettings(environment: environment, rateLimit: rateLimit, expiresAt: expiresAt)
    }
}

/// A creation under an idempotency key, as a store keeps it: the key it
/// made and what it was asked, for a second call under the key to be
/// compared with.
package struct KeyCreation {
    /// The columns a store reads it from, in the order of the memberwise
    /// initializer (capabilities and origins as ``StorageCoding`` lists).
    package static let columns = "key_id, name, kind, capabilities, environment, rate_limit, allowed_origins, expires_at"

    package let keyId: String
    package let name: String
    package let kind: String
    package let capabilities: String
    /// As sent; `nil`: left out, for the catalog's first.
    package let environment: String?
    /// As sent; `nil`: left out, for the plan's default.
    package let rateLimit: Int?
    package let allowedOrigins: String
    /// As sent; `nil`: left out, for none or the plan's longest lifetime.
    package let expiresAt: Int64?

    package init(keyId: String, name: String, kind: String, capabilities: String, environment: String?, rateLimit: Int?,
                 allowedOrigins: String, expiresAt: Int64?) {
        self.keyId = keyId
        self.name = name
        self.kind = kind
        self.capabilities = capabilities
        self.environment = environment
        self.rateLimit = rateLimit
        self.allowedOrigins = allowedOrigins
        self.expiresAt = expiresAt
    }

    /// A creation's, from its checked name and origins, its capabilities
    /// in name order (the set is the request, not the order it was
    /// written in), and what was `sent` where a default filled in.
    init(keyId: String, name: String, kind: String, capabilities: [String], allowedOrigins: [String],
         sent: NewKey.SentSettings) {
        self.init(keyId: keyId, name: name, kind: kind, capabilities: StorageCoding.list(capabilities.sorted()),
                  environment: sent.environment, rateLimit: sent.rateLimit,
                  allowedOrigins: StorageCoding.list(allowedOrigins),
                  expiresAt: sent.expiresAt.map { StorageCoding.milliseconds(StorageCoding.truncated($0)) })
    }

    /// Why `retry`, sent under this creation's idempotency key, makes no
    /// key. The same creation is a retry whose answer was lost: it learns
    /// the key the first one made (the secret was answered once, and a
    /// second key would be one nobody holds the secret of). Another is a
    /// key reused by mistake. Compared as the store keeps them: texts byte
    /// for byte, origins in the spelling browsers send, and what either
    /// left out for a default as left out.
    package func refusal(of retry: KeyCreation) -> KeyStoreError {
        func same(_ first: String?, _ second: String?) -> Bool {
            if let first, let second { first.isSameText(as: second) } else { first == nil && second == nil }
        }
        let differs: String? =
            if !name.isSameText(as: retry.name) { "name" }
            else if !kind.isSameText(as: retry.kind) { "kind" }
            else if !capabilities.isSameText(as: retry.capabilities) { "capabilities" }
            else if !same(environment, retry.environment) { "environment" }
            else if rateLimit != retry.rateLimit { "rateLimit" }
            else if !allowedOrigins.isSameText(as: retry.allowedOrigins) { "allowedOrigins" }
            else if expiresAt != retry.expiresAt { "expiresAt" } else { nil }
        if let differs { return KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs]) }
        return KeyStoreError(.keyAlreadyCreated, field: "idempotencyKey", ["keyId": keyId])
    }
}

/// A rotation under an idempotency key, as a store keeps it: the key it
/// rotated and the grace it gave, for a second call under the key to be
/// compared with.
package struct KeyRotation {
    /// The columns a store reads it from, in the order of the memberwise initializer.
    package static let columns = "key_id, grace_period_seconds"

    package let keyId: String
    /// As the store applied it: a rotation sent without one had none (0),
    /// a default no plan or setting changes, so left out and 0 are one.
    package let gracePeriodSeconds: Int

    package init(keyId: String, gracePeriodSeconds: Int) {
        self.keyId = keyId
        self.gracePeriodSeconds = gracePeriodSeconds
    }

    /// Why `retry`, sent under this rotation's idempotency key, rotates
    /// nothing. The same rotation is a retry whose answer was lost: a
    /// second one would replace the secret the first made, which its
    /// caller may have installed (a replayed request must not break an
    /// integration), and leave that secret working through the grace
    /// meant for the one before. Another is a key reused by mistake.
    package func refusal(of retry: KeyRotation) -> KeyStoreError {
        let differs: String? =
            if !keyId.isSameText(as: retry.keyId) { "keyId" }
            else if gracePeriodSeconds != retry.gracePeriodSeconds { "gracePeriodSeconds" } else { nil }
        if let differs { return KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs]) }
        return KeyStoreError(.keyAlreadyRotated, field: "idempotencyKey", ["keyId": keyId])
    }
}

extension KeyRecord {
    /// What a key was made with, as the audit log keeps it of a creation or an import.
    package var settingsDetails: [String: JSON] {
        var details: [String: JSON] = [
            "name": .string(name), "kind": .string(kind), "capabilities": .strings(capabilities),
            "environment": .string(environment), "rateLimit": .integer(rateLimit), "allowedOrigins": .strings(allowedOrigins),
        ]
        details["expiresAt"] = expiresAt.map { .string(RFC3339.string($0)) }
        return details
    }
}

/// A key to import, checked.
package struct CheckedImport {
    package let record: KeyRecord
    package let digest: KeyDigest
    package let actor: String
    /// How the key was given: `key` or `sha256`.
    package let source: String

    /// What the audit log keeps of the import.
    package var auditDetails: [String: JSON] {
        record.settingsDetails.merging([
            "hint": .string(record.hint), "createdAt": .string(RFC3339.string(record.createdAt)), "source": .string(source),
        ]) { $1 }
    }
}

/// Changes to a key, checked.
package struct CheckedKeyChanges {
    let name: String?
    let capabilities: [String]?
    let rateLimit: Int?
    let origins: [String]?
    let expiresAt: Date?
    package let actor: String

    /// Applies the changes to `key`; what changed (empty when nothing did:
    /// such an update writes nothing).
    package func apply(to key: inout KeyRecord) -> KeyChangeDetails {
        var details = KeyChangeDetails()
        if let name, name != key.name {
            details.add("name", from: .string(key.name), to: .string(name))
            key.name = name
        }
        if let capabilities, capabilities != key.capabilities {
            details.add("capabilities", from: .strings(key.capabilities), to: .strings(capabilities))
            key.capabilities = capabilities
        }
        if let rateLimit, rateLimit != key.rateLimit {
            details.add("rateLimit", from: .integer(key.rateLimit), to: .integer(rateLimit))
            key.rateLimit = rateLimit
        }
        if let origins, origins != key.allowedOrigins {
            details.add("allowedOrigins", from: .strings(key.allowedOrigins), to: .strings(origins))
            key.allowedOrigins = origins
        }
        if let expiresAt, expiresAt != key.expiresAt {
            details.add("expiresAt", from: key.expiresAt.map { .string(RFC3339.string($0)) } ?? .null,
                        to: .string(RFC3339.string(expiresAt)))
            key.expiresAt = expiresAt
        }
        return details
    }
}

/// What an update changed, each field from what to what, in the order
/// `keys.update` takes them: once, for the audit entry and the event.
package struct KeyChangeDetails {
    private var changes: [(field: String, change: JSON)] = []

    package var isEmpty: Bool { changes.isEmpty }

    mutating func add(_ field: String, from old: JSON, to new: JSON) {
        changes.append((field, .change(from: old, to: new)))
    }

    /// As the audit log keeps them.
    package var audit: [String: JSON] {
        Dictionary(uniqueKeysWithValues: changes.map { ($0.field, $0.change) })
    }

    /// As `key.updated` carries them, in order.
    package var event: JSON {
        .object(changes.map { ($0.field, $0.change) })
    }
}

/// What a billing event said, as a store keeps it beside its id: the
/// event a second delivery under the id is compared with
/// (``checkReplay(of:)``), and the one each delivery stores, as
/// ``UsageDelivery`` is for `usage.record`.
package struct BillingDelivery {
    /// The columns a store reads it from, in the order of ``init(organizationId:occurredAt:plan:status:periodStart:periodEnd:)``.
    package static let columns = "organization_id, occurred_at, plan, status, period_start, period_end"

    package let organizationId: String
    package let occurredAt: Int64
    /// `nil` in rows written before schema v19 (PostgreSQL 17), which kept
    /// only the organization and the time.
    package let plan: String?
    package let status: String?
    /// To the millisecond stored.
    package let periodStart: Int64?
    package let periodEnd: Int64?

    package init(organizationId: String, occurredAt: Int64, plan: String?, status: String?,
                 periodStart: Int64?, periodEnd: Int64?) {
        self.organizationId = organizationId
        self.occurredAt = occurredAt
        self.plan = plan
        self.status = status
        self.periodStart = periodStart
        self.periodEnd = periodEnd
    }

    /// Refuses a delivery under an event id first seen with another event:
    /// billing sends one event under one id, so anything else is an id
    /// reused by mistake (a change sent under the id of the one before),
    /// and answering it as a replay would drop the change unseen. Texts are
    /// compared byte for byte, as the database keys them.
    package func checkReplay(of first: BillingDelivery) throws(KeyStoreError) {
        let differs: String? =
            if !first.organizationId.isSameText(as: organizationId) { "organizationId" }
            else if first.occurredAt != occurredAt { "occurredAt" }
            // Remembered before schema v19 (PostgreSQL 17), or by a process
            // of the version before: the rest was not kept. (A delivery
            // being sent always names its plan.)
            else if let stored = first.plan {
                if !stored.isSameText(as: plan ?? "") { "plan" }
                else if first.status != status { "status" }
                else if first.periodStart != periodStart { "periodStart" }
                else if first.periodEnd != periodEnd { "periodEnd" } else { nil }
            } else { nil }
        if let differs { throw KeyStoreError(.eventIdReused, field: "eventId", ["differs": differs]) }
    }
}

/// What a `usage.record` call said, as a store keeps it beside its
/// idempotency key: the use a second call under the key is compared with.
package struct UsageDelivery {
    /// The columns a store reads it from, in the order of ``init(meter:amount:reserve:)``.
    package static let columns = "meter, amount, reserve"

    package let meter: String
    package let amount: Int
    /// Whether the call asked to record only what fits; `nil` in rows
    /// written before schema v20 (PostgreSQL 18), which did not keep it.
    package let reserve: Bool?

    package init(meter: String, amount: Int, reserve: Bool?) {
        self.meter = meter
        self.amount = amount
        self.reserve = reserve
    }

    /// Refuses a call under an idempotency key first used for another
    /// call: a retry sends the same call, so anything else is a key
    /// reused by mistake, and answering it as a replay would drop the use,
    /// or tell a reservation it fit when the first call recorded past the
    /// limit. Texts are compared byte for byte, as the database keys them.
    package func checkReplay(of first: UsageDelivery) throws(KeyStoreError) {
        let differs: String? =
            if !first.meter.isSameText(as: meter) { "meter" }
            else if first.amount != amount { "amount" }
            // Remembered before schema v20 (PostgreSQL 18), or by a process
            // of the version before: how it was asked was not kept.
            else if let reserved = first.reserve, reserved != reserve { "reserve" } else { nil }
        if let differs { throw KeyStoreError(.idempotencyKeyReused, field: "idempotencyKey", ["differs": differs]) }
    }
}

/// A billing event, checked.
package struct CheckedBillingEvent {
    package let event: BillingEvent
    package let organizationId: String
    package let actor: String
    /// When it happened, to the millisecond stored.
    package let occurredAt: Int64

    /// The subscription after the event, from the one before it: a plan
    /// change without a period keeps the period billing gave before.
    package func applied(over current: SubscriptionRecord?, at now: Date) -> SubscriptionRecord {
        SubscriptionRecord(
            organizationId: organizationId, plan: event.plan, status: event.status ?? current?.status ?? .active,
            periodStart: (event.periodStart ?? current?.periodStart).map(StorageCoding.truncated),
            periodEnd: (event.periodEnd ?? current?.periodEnd).map(StorageCoding.truncated),
            lastEventAt: StorageCoding.date(occurredAt), updatedAt: now)
    }

    /// What the event says, as a store keeps it.
    package var delivery: BillingDelivery {
        BillingDelivery(organizationId: organizationId, occurredAt: occurredAt, plan: event.plan,
                        status: event.status?.rawValue, periodStart: event.periodStart.map(StorageCoding.milliseconds),
                        periodEnd: event.periodEnd.map(StorageCoding.milliseconds))
    }


    /// What the audit log keeps of the event's change.
    package func auditDetails(from current: SubscriptionRecord?, to updated: SubscriptionRecord) -> [String: JSON] {
        var details: [String: JSON] = [
            "eventId": .string(event.eventId),
            "plan": current.map { .change(from: .string($0.plan), to: .string(event.plan)) } ?? .string(event.plan),
            "status": .string(updated.status.rawValue),
            "occurredAt": .string(RFC3339.string(StorageCoding.date(occurredAt))),
        ]
        if let periodStart = updated.periodStart, let periodEnd = updated.periodEnd {
            details["period"] = [
                "start": .string(RFC3339.string(periodStart)), "end": .string(RFC3339.string(periodEnd)),
            ]
        }
        return details
    }
}

extension KeyValidator {
    /// Checks a new key and draws its secret and id.
    package func newKey(_ request: NewKey, now: Date) throws(KeyStoreError) -> CheckedNewKey {
        let organizationId = try organizationId(request.organizationId)
        let name = try name(request.name)
        let kind = try kind(request.kind)
        let capabilities = try capabilities(request.capabilities)
        let environment = try environment(request.environment)
        let rateLimit = try rateLimit(request.rateLimit)
        let origins = try origins(request.allowedOrigins)
        let expiresAt = try expiry(request.expiresAt.map(StorageCoding.truncated), now: now)
        let actor = try actor(request.actor)
        let idempotencyKey = try request.idempotencyKey.map { key throws(KeyStoreError) in try self.idempotencyKey(key) }
        let secret = rules.format.generate(environment: environment)
        let parsed = parsedOwnSecret(secret)
        let record = KeyRecord(
            id: Self.newKeyId(at: now), organizationId: organizationId, name: name, kind: kind,
            capabilities: capabilities, environment: environment, hint: parsed.hint, rateLimit: rateLimit,
            allowedOrigins: origins, createdAt: now, expiresAt: expiresAt, revokedAt: nil, lastUsedAt: nil,
            usage: KeyUsage())
        return CheckedNewKey(record: record, secret: secret, digest: parsed.digest, actor: actor,
                             idempotencyKey: idempotencyKey, sent: request.sentSettings)
    }

    /// A creation under an idempotency key, checked only as far as
    /// comparing it with one made before needs (``KeyStorage/earlierCreation(of:)``
    /// writes nothing); `nil` without an idempotency key.
    package func sentCreation(_ request: NewKey) throws(KeyStoreError)
        -> (organizationId: String, idempotencyKey: String, creation: KeyCreation)?
    {
        guard let key = request.idempotencyKey else { return nil }
        return (try organizationId(request.organizationId), try idempotencyKey(key), KeyCreation(
            keyId: "", name: try name(request.name), kind: request.kind, capabilities: request.capabilities,
            allowedOrigins: try origins(request.allowedOrigins), sent: request.sentSettings))
    }

    /// A rotation under an idempotency key, checked only as far as
    /// comparing it with one made before needs (``KeyStorage/earlierRotation(id:organizationId:gracePeriodSeconds:idempotencyKey:)``
    /// writes nothing).
    package func sentRotation(id: String, organizationId: String, gracePeriodSeconds: Int, idempotencyKey: String)
        throws(KeyStoreError) -> (organizationId: String, idempotencyKey: String, rotation: KeyRotation)
    {
        (try self.organizationId(organizationId), try self.idempotencyKey(idempotencyKey),
         KeyRotation(keyId: id, gracePeriodSeconds: try gracePeriod(gracePeriodSeconds)))
    }

    package func changes(_ changes: KeyChanges, actor: String?, now: Date) throws(KeyStoreError) -> CheckedKeyChanges {
        CheckedKeyChanges(
            name: try changes.name.map { name throws(KeyStoreError) in try self.name(name) },
            capabilities: try changes.capabilities.map { list throws(KeyStoreError) in try capabilities(list) },
            rateLimit: try changes.rateLimit.map { limit throws(KeyStoreError) in try rateLimit(limit) },
            origins: try changes.allowedOrigins.map { list throws(KeyStoreError) in try origins(list) },
            expiresAt: try expiry(changes.expiresAt.map(StorageCoding.truncated), now: now),
            actor: try self.actor(actor))
    }

    package func billingEvent(_ event: BillingEvent) throws(KeyStoreError) -> CheckedBillingEvent {
        let organizationId = try organizationId(event.organizationId)
        guard (1...200).contains(event.eventId.utf8.count), !KeyValidator.hasControl(event.eventId) else {
            throw KeyStoreError(.invalidEventId, field: "eventId", ["max": "200"])
        }
        if let start = event.periodStart, let end = event.periodEnd, end <= start {
            throw KeyStoreError(.invalidPeriod, field: "periodEnd", ["reason": "before_start"])
        } else if (event.periodStart == nil) != (event.periodEnd == nil) {
            throw KeyStoreError(.invalidPeriod, field: event.periodStart == nil ? "periodStart" : "periodEnd",
                                ["reason": "incomplete"])
        }
        return CheckedBillingEvent(event: event, organizationId: organizationId,
                                   actor: try actor(event.actor ?? "billing"),
                                   occurredAt: StorageCoding.milliseconds(event.occurredAt))
    }

    /// Checks a `usage.record` call's amount and idempotency key.
    package func usageRecord(amount: Int, idempotencyKey: String) throws(KeyStoreError) {
        guard KeyRules.amounts.contains(amount) else {
            throw KeyStoreError(.invalidAmount, field: "amount",
                                ["min": "\(KeyRules.amounts.lowerBound)", "max": "\(KeyRules.amounts.upperBound)"])
        }
        _ = try self.idempotencyKey(idempotencyKey)
    }

    /// Checks an idempotency key, `usage.record`'s or `keys.create`'s.
    package func idempotencyKey(_ key: String) throws(KeyStoreError) -> String {
        guard (1...200).contains(key.utf8.count), !KeyValidator.hasControl(key) else {
            throw KeyStoreError(.invalidIdempotencyKey, field: "idempotencyKey", ["max": "200"])
        }
        return key
    }

    /// The longest range of days one usage read covers.
    package static let maximumUsageDays = 366

    /// A usage read's first and last day, as stored (`YYYY-MM-DD`).
    package func usageDays(from: Date, to: Date) throws(KeyStoreError) -> (first: String, last: String) {
        let first = StorageCoding.day(from)
        let last = StorageCoding.day(to)
        let calendar = StorageCoding.utcCalendar
        let span = calendar.dateComponents([.day], from: calendar.startOfDay(for: from), to: calendar.startOfDay(for: to)).day ?? 0
        guard first <= last, span < Self.maximumUsageDays else {
            throw KeyStoreError(.invalidDateRange, field: first > last ? "to" : "from", ["max": "\(Self.maximumUsageDays)"])
        }
        return (first, last)
    }

    /// Checks a key to import and works out its digest and hint; the raw
    /// key, if given, goes no further than this.
    package func importedKey(_ request: ImportedKey, now: Date) throws(KeyStoreError) -> CheckedImport {
        let organizationId = try organizationId(request.organizationId)
        let name = try name(request.name)
        let kind = try kind(request.kind)
        let capabilities = try capabilities(request.capabilities)
        let rateLimit = try rateLimit(request.rateLimit)
        let origins = try origins(request.allowedOrigins)
        let expiresAt = try expiry(request.expiresAt.map(StorageCoding.truncated), now: now)
        let actor = try actor(request.actor)
        let lastUsedAt = request.lastUsedAt.map(StorageCoding.truncated)
        // Without a creation time, the key is at least as old as its last use.
        let createdAt = request.createdAt.map(StorageCoding.truncated) ?? min(lastUsedAt ?? now, now)
        guard createdAt <= now else {
            throw KeyStoreError(.invalidTimestamp, field: "createdAt", ["field": "createdAt", "reason": "future"])
        }
        if let lastUsedAt, lastUsedAt > now || lastUsedAt < createdAt {
            throw KeyStoreError(.invalidTimestamp, field: "lastUsedAt",
                                ["field": "lastUsedAt", "reason": lastUsedAt > now ? "future" : "before_created"])
        }
        let digest: KeyDigest
        let hint: String
        let environment: String
        switch request.secret {
        case .key(let key):
            guard let parsed = try? rules.format.parse(key.unredacted) else {
                // Not echoed: whatever it is, it was given as a secret.
                throw KeyStoreError(.unrecognizedKey, field: "key")
            }
            if let given = request.environment, given != parsed.environment {
                throw KeyStoreError(.unknownEnvironment, field: "environment",
                                    ["environment": excerpt(given), "allowed": parsed.environment, "reason": "mismatch"])
            }
            (digest, hint, environment) = (parsed.digest, parsed.hint, parsed.environment)
        case .sha256(let text):
            guard let decoded = Self.sha256(text) else { throw KeyStoreError(.invalidDigest, field: "sha256") }
            digest = decoded
            // The key itself is unknown: its format's prefix is all a list can show.
            let legacy = rules.format.legacy.count == 1 ? rules.format.legacy.first : nil
            hint = (legacy?.prefix ?? "") + "…"
            environment = try self.environment(request.environment ?? legacy?.environment ?? rules.format.environments[0])
        }
        let record = KeyRecord(
            id: Self.newKeyId(at: now), organizationId: organizationId, name: name, kind: kind,
            capabilities: capabilities, environment: environment, hint: hint, rateLimit: rateLimit,
            allowedOrigins: origins, createdAt: createdAt, expiresAt: expiresAt, revokedAt: nil, lastUsedAt: lastUsedAt,
            usage: KeyUsage())
        let source = if case .key = request.secret { "key" } else { "sha256" }
        return CheckedImport(record: record, digest: digest, actor: actor, source: source)
    }

    /// A SHA-256 digest written as 64 hexadecimal digits or in base64
    /// (standard or URL-safe alphabet, padding optional).
    package static func sha256(_ text: String) -> KeyDigest? {
        let bytes = Array(text.utf8)
        if bytes.count == 64 {
            var digest: [UInt8] = []
            digest.reserveCapacity(32)
            for index in stride(from: 0, to: 64, by: 2) {
                guard let high = hexValue(bytes[index]), let low = hexValue(bytes[index + 1]) else { return nil }
                digest.append(high << 4 | low)
            }
            return KeyDigest(bytes: digest)
        }
        guard bytes.count == 43 || bytes.count == 44 else { return nil }
        var standard = String(decoding: bytes.map { $0 == UInt8(ascii: "-") ? UInt8(ascii: "+") : $0 == UInt8(ascii: "_") ? UInt8(ascii: "/") : $0 },
                              as: UTF8.self)
        if standard.utf8.count == 43 { standard += "=" }
        return Data(base64Encoded: standard).flatMap { KeyDigest(bytes: Array($0)) }
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// A secret this store generated, parsed: it always parses.
    package func parsedOwnSecret(_ secret: RawKey) -> ParsedKey {
        do {
            return try rules.format.parse(secret.unredacted)
        } catch {
            preconditionFailure("a generated key failed its own format: \(error)")
        }
    }

    /// A key's public id: `key_`, then the creation time in milliseconds as
    /// seven base62 digits (good until 2081), then 13 random base62
    /// characters (77 bits). Ids created later sort later, so inserting one
    /// touches the rightmost pages of the indexes on key ids, which stay in
    /// memory, rather than a random page of each (docs/PERFORMANCE.md has
    /// the gain). The id reveals when the key was created, which
    /// whoever can see the id can read from the key anyway.
    package static func newKeyId(at now: Date) -> String {
        var generator = SecureRandom(words: 4)
        let time = Base62.encode(UInt64(max(0, now.timeIntervalSince1970 * 1000)), width: 7)
        return "key_" + String(decoding: time + Base62.random(count: 13, using: &generator), as: UTF8.self)
    }
}

extension JSON {
    /// The audit log's details as stored: members in name order.
    package static func auditText(_ details: [String: JSON]) -> String {
        JSON.object(details.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).text
    }
}

/// A rotation, checked: the grace period, and when the current secret stops.
package struct CheckedRotation {
    package let grace: Int
    package let actor: String
    package let now: Date
    /// The previous secret's deadline; `nil` when it stops at once.
    package let previousExpiresAt: Date?
    /// The caller's name for the rotation, remembered with what it asked.
    package let idempotencyKey: String?

    /// Refuses a key that cannot be rotated (revoked or expired).
    package func check(_ key: KeyRecord) throws(KeyStoreError) {
        try key.checkSecretsChangeable(at: now)
    }

    /// Refuses a rotation with a grace period that would leave the key
    /// more earlier secrets working than ``KeyRules/maximumPreviousSecrets``,
    /// `working` the number it has once those past their deadline are
    /// gone. A rotation without grace adds none and is never refused (a
    /// leak must be answerable): it is not asked.
    package func checkRoom(working: Int) throws(KeyStoreError) {
        guard working >= KeyRules.maximumPreviousSecrets else { return }
        throw KeyStoreError(.tooManyPreviousSecrets, field: "gracePeriodSeconds", ["max": "\(KeyRules.maximumPreviousSecrets)"])
    }

    /// What a `key.rotated` event tells: when the previous secret stops.
    package var eventDetails: [String: JSON] {
        ["previousSecretExpiresAt": previousExpiresAt.map { .string(RFC3339.string($0)) } ?? .null]
    }

    /// What the audit log keeps of the rotation.
    package var auditDetails: [String: JSON] {
        [
            "gracePeriodSeconds": .integer(grace),
            "previousSecretExpiresAt": previousExpiresAt.map { .string(RFC3339.string($0)) } ?? .null,
        ]
    }
}

extension KeyValidator {
    package func rotation(gracePeriodSeconds: Int, actor: String?, idempotencyKey: String?, now: Date)
        throws(KeyStoreError) -> CheckedRotation
    {
        let grace = try gracePeriod(gracePeriodSeconds)
        return CheckedRotation(
            grace: grace, actor: try self.actor(actor), now: now,
            previousExpiresAt: grace == 0 ? nil : now.addingTimeInterval(TimeInterval(grace)),
            idempotencyKey: try idempotencyKey.map { key throws(KeyStoreError) in try self.idempotencyKey(key) })
    }
}

extension KeyFilter {
    /// The filter as an SQL condition on `api_key k`, `time` naming the
    /// parameter that holds the current time; `nil` for every key.
    package func condition(time: String) -> String? {
        switch self {
        case .all: nil
        case .state(.live): "k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > \(time))"
        case .state(.expired): "k.revoked_at IS NULL AND k.expires_at <= \(time)"
        case .state(.revoked): "k.revoked_at IS NOT NULL"
        }
    }
}

extension KeyRecord {
    /// Refuses a key none of whose secrets works any more (revoked or
    /// expired): its secrets are not changed, by a rotation or otherwise.
    package func checkSecretsChangeable(at now: Date) throws(KeyStoreError) {
        switch state(at: now) {
        case .revoked: throw KeyStoreError(.keyRevoked, field: "keyId")
        case .expired: throw KeyStoreError(.keyExpired, field: "keyId")
        case .live: break
        }
    }

    /// The secrets a ``KeyStorage/stopPreviousSecrets(id:organizationId:actor:)``
    /// stopped, as its audit entry and its event name them: hint (`null`
    /// for one rotated out before stores kept it) and the deadline it had.
    package static func stoppedSecrets(_ secrets: [PreviousSecret]) -> JSON {
        .array(secrets.map { secret in
            ["hint": secret.hint.map(JSON.string) ?? .null, "expiresAt": .string(RFC3339.string(secret.expiresAt))]
        })
    }

    /// What the audit log keeps of a leak report that flagged the key.
    package static func leakDetails(_ key: KeyRecord, secret: LeakedSecret, location: String?) -> [String: JSON] {
        var details = secret.members
        details["name"] = .string(key.name)
        details["location"] = location.map(JSON.string)
        return details
    }

    /// What the audit log keeps of a revocation.
    package static func revocationDetails(_ key: KeyRecord, reason: String?) -> [String: JSON] {
        var details: [String: JSON] = ["name": .string(key.name)]
        details["reason"] = reason.map(JSON.string)
        return details
    }
}

extension LeakedSecret {
    /// How the audit log and the event name the reported secret: its hint
    /// (over the key's, which is its current secret's) and, if rotated out,
    /// its grace deadline.
    package var members: [String: JSON] {
        var members: [String: JSON] = ["hint": .string(hint)]
        members["secretExpiresAt"] = expiresAt.map { .string(RFC3339.string($0)) }
        return members
    }
}

extension KeyValidator {
    /// A revocation's reason: printable, at most ``KeyRules/maximumReasonBytes`` bytes.
    package func reason(_ reason: String) throws(KeyStoreError) -> String {
        let trimmed = reason.trimmingCharacters(in: .whitespacesAndNewlines)
        guard (1...KeyRules.maximumReasonBytes).contains(trimmed.utf8.count),
            trimmed.unicodeScalars.allSatisfy({ !Self.isInvisible($0) })
        else {
            throw KeyStoreError(.invalidName, field: "reason", ["min": "1", "max": "\(KeyRules.maximumReasonBytes)"])
        }
        return trimmed
    }
}

// MARK: Events

extension KeyRecord {
    /// What every event about a key carries: enough to name it in a message.
    package func eventData(_ extra: [String: JSON] = [:]) -> [String: JSON] {
        var data: [String: JSON] = [
            "keyId": .string(id), "name": .string(name), "hint": .string(hint), "kind": .string(kind),
            "environment": .string(environment),
        ]
        data.merge(extra) { $1 }
        return data
    }

    /// The event of a change to this key.
    package func event(_ type: EventType, _ extra: [String: JSON] = [:]) -> NewEvent {
        NewEvent(type: type, organizationId: organizationId, keyId: id, data: eventData(extra))
    }

    /// The event of an update that changed this key.
    package func updateEvent(_ details: KeyChangeDetails) -> NewEvent {
        event(.keyUpdated, ["changes": details.event])
    }

    /// The event of a leak report about this key: `revoked` or `flagged`,
    /// the secret reported (its hint, and its deadline if rotated out) and
    /// where it was found.
    package func leakEvent(revoked: Bool, secret: LeakedSecret, location: String?) -> NewEvent {
        var data = secret.members
        data["action"] = .string(revoked ? "revoked" : "flagged")
        data["location"] = location.map(JSON.string)
        return event(.keyLeakReported, data)
    }

    /// The once-only events of this key's expiry, due at `now`: announced
    /// within `schedule.expiryNotice`, expired (within the retention, so
    /// an event pruned is not written again).
    package func expiryEvents(at now: Date, _ schedule: EventSchedule) -> [NewEvent] {
        guard revokedAt == nil, let expiresAt, expiresAt > now.addingTimeInterval(-schedule.retention) else { return [] }
        let stamp = StorageCoding.milliseconds(expiresAt)
        let data = eventData(["expiresAt": .string(RFC3339.string(expiresAt))])
        var events: [NewEvent] = []
        if expiresAt > now, expiresAt <= now.addingTimeInterval(schedule.expiryNotice) {
            events.append(NewEvent(type: .keyExpiring, organizationId: organizationId, keyId: id, data: data,
                                   once: "expiring:\(id):\(stamp)"))
        }
        if expiresAt <= now {
            events.append(NewEvent(type: .keyExpired, organizationId: organizationId, keyId: id, data: data,
                                   once: "expired:\(id):\(stamp)"))
        }
        return events
    }
}

extension NewEvent {
    /// An event's public id: `evt_`, the time in milliseconds as seven
    /// base62 digits, 13 random ones (as key ids are made).
    package static func newId(at now: Date) -> String {
        "evt_" + KeyValidator.newKeyId(at: now).dropFirst("key_".count)
    }

    /// The event of a quota crossing `threshold` percent of `limit` in the
    /// period starting at `periodStart`: written once per threshold, limit
    /// and period, so a plan that raises the limit within a period has its
    /// own thresholds to cross.
    package static func quotaThreshold(organizationId: String, meter: String, periodStart: Date, limit: Int, used: Int,
                                       threshold: Int) -> NewEvent {
        NewEvent(
            type: .quotaThreshold, organizationId: organizationId,
            data: ["meter": .string(meter), "threshold": .integer(threshold), "limit": .integer(limit), "used": .integer(used),
                   "periodStart": .string(RFC3339.string(periodStart))],
            once: "quota:\(organizationId):\(meter):\(StorageCoding.milliseconds(periodStart)):\(limit):\(threshold)")
    }

    /// The thresholds (80 and 100 percent of `limit`) that going from
    /// `before` to `after` crossed.
    package static func crossedThresholds(limit: Int?, before: Int, after: Int) -> [Int] {
        guard let limit, limit > 0 else { return [] }
        return [80, 100].filter { threshold in
            let boundary = (limit * threshold + 99) / 100
            return before < boundary && after >= boundary
        }
    }
}

extension MeterIncrement {
    /// The threshold events this increment sets off, the meter now at `used`.
    package func thresholdEvents(usedAfter used: Int) -> [NewEvent] {
        NewEvent.crossedThresholds(limit: limit, before: used - amount, after: used).map { threshold in
            NewEvent.quotaThreshold(organizationId: organizationId, meter: meter, periodStart: periodStart,
                                    limit: limit ?? 0, used: used, threshold: threshold)
        }
    }
}

extension KeyValidator {
    /// Checks an event's organization (its data is the store's or the
    /// service's own, never a caller's).
    package func event(_ event: NewEvent) throws(KeyStoreError) -> NewEvent {
        _ = try organizationId(event.organizationId)
        return event
    }
}

extension UsageDay {
    /// The two queries whose rows ``days(keyId:totals:counts:)`` folds: a
    /// key's days (`forKey`), or an organization's summed over its keys.
    /// Both stores run them as written here; their parameters are the key's
    /// or organization's id, the first day and the last, numbered after
    /// `marker` (`?` for SQLite, `$` for PostgreSQL).
    package static func queries(forKey: Bool, marker: Character) -> (totals: String, counts: String) {
        let (id, first, last) = ("\(marker)1", "\(marker)2", "\(marker)3")
        if forKey {
            return ("SELECT day, valid, invalid FROM key_usage_day WHERE key_id = \(id) AND day BETWEEN \(first) AND \(last) ORDER BY day",
                    "SELECT day, dimension, name, count FROM key_usage_count WHERE key_id = \(id) AND day BETWEEN \(first) AND \(last)")
        }
        return ("""
            SELECT u.day, SUM(u.valid), SUM(u.invalid)
            FROM key_usage_day u JOIN api_key k ON k.id = u.key_id
            WHERE k.organization_id = \(id) AND u.day BETWEEN \(first) AND \(last)
            GROUP BY u.day ORDER BY u.day
            """, """
            SELECT c.day, c.dimension, c.name, SUM(c.count)
            FROM key_usage_count c JOIN api_key k ON k.id = c.key_id
            WHERE k.organization_id = \(id) AND c.day BETWEEN \(first) AND \(last)
            GROUP BY c.day, c.dimension, c.name
            """)
    }

    /// Days from their totals, in order, each with its breakdown rows
    /// (day, `outcome` or `capability`, name, count) folded in.
    package static func days(keyId: String?, totals: [(day: String, valid: Int, invalid: Int)],
                             counts: [(day: String, dimension: String, name: String, count: Int)]) -> [UsageDay] {
        var refusals: [String: [String: Int]] = [:]
        var capabilities: [String: [String: Int]] = [:]
        for row in counts where row.count > 0 {
            if row.dimension == "outcome" {
                refusals[row.day, default: [:]][row.name] = row.count
            } else {
                capabilities[row.day, default: [:]][row.name] = row.count
            }
        }
        return totals.map { total in
            UsageDay(date: total.day, keyId: keyId, valid: total.valid, invalid: total.invalid,
                     refusals: refusals[total.day] ?? [:], capabilities: capabilities[total.day] ?? [:])
        }
    }
}

/// Where a key was last used: kept on the key (from before the day rows
/// held it, or brought by an import) and in its latest day's row.
package struct LastUse {
    package var at: Date?
    package var origin: String?
    package var ip: String?

    package init(at: Date?, origin: String?, ip: String?) {
        self.at = at
        self.origin = origin
        self.ip = ip
    }

    /// The later of two.
    package static func newer(_ one: LastUse, _ other: LastUse) -> LastUse {
        guard let otherAt = other.at else { return one }
        guard let oneAt = one.at else { return other }
        return otherAt > oneAt ? other : one
    }
}

/// A batch of imports decided in memory, in order, as
/// ``KeyStorage/importKey(_:limit:)`` would decide them one after another:
/// what both stores' batch imports share. A store reads the digests'
/// owners and the organizations' live counts, lets ``decide(owners:live:limits:now:)``
/// settle every key, and writes what it returns.
package struct ImportBatch {
    private var results: [Result<ImportedKeyResult, KeyStoreError>?]
    /// The keys whose fields passed, with their place in the batch.
    package let checked: [(index: Int, key: CheckedImport)]

    package init(_ keys: [ImportedKey], validator: KeyValidator, now: Date) {
        var results: [Result<ImportedKeyResult, KeyStoreError>?] = keys.map { _ in nil }
        var checked: [(index: Int, key: CheckedImport)] = []
        for (index, key) in keys.enumerated() {
            do throws(KeyStoreError) {
                checked.append((index, try validator.importedKey(key, now: now)))
            } catch {
                results[index] = .failure(error)
            }
        }
        self.results = results
        self.checked = checked
    }

    /// The organizations of the checked keys, in one order (to lock them in).
    package var organizations: [String] { Array(Set(checked.map(\.key.record.organizationId))).sorted() }

    /// One answer per key, in order; complete once ``decide(owners:live:limits:now:)`` ran.
    package var answers: [Result<ImportedKeyResult, KeyStoreError>] {
        results.map { $0 ?? .failure(KeyStoreError(.storageFailure, ["reason": "other"])) }
    }

    /// Live keys per organization of the kinds its limit counts, from
    /// counts per organization and kind.
    package static func live(_ counts: [(organizationId: String, kind: String, count: Int)], limits: [String: LiveKeyLimit])
        -> [String: Int]
    {
        var live: [String: Int] = [:]
        for row in counts where limits[row.organizationId]?.kinds.contains(row.kind) == true {
            live[row.organizationId, default: 0] += row.count
        }
        return live
    }

    /// Settles every checked key: already this organization's, another's,
    /// over the limit, or new. Returns the new ones, to be written.
    package mutating func decide(owners: [KeyDigest: KeyRecord], live: [String: Int], limits: [String: LiveKeyLimit],
                                 now: Date) -> [CheckedImport] {
        var owners = owners
        var live = live
        var new: [CheckedImport] = []
        for (index, key) in checked {
            let record = key.record
            if let owner = owners[key.digest] {
                results[index] = owner.organizationId == record.organizationId
                    ? .success(ImportedKeyResult(key: owner, imported: false))
                    : .failure(KeyStoreError(.keyConflict, field: key.source))
                continue
            }
            if let limit = limits[record.organizationId], limit.kinds.contains(record.kind), record.state(at: now) == .live {
                guard live[record.organizationId, default: 0] < limit.maximum else {
                    results[index] = .failure(KeyStoreError(.keyLimitReached, ["limit": "\(limit.maximum)"]))
                    continue
                }
                live[record.organizationId, default: 0] += 1
            }
            owners[key.digest] = record
            new.append(key)
            results[index] = .success(ImportedKeyResult(key: record, imported: true))
        }
        return new
    }
}
