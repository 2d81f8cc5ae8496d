package import Foundation

// What every store does the same way whatever its database (this folder):
// checking what callers send, naming keys, and what the audit log says of
// a change. The SQLite and PostgreSQL stores both use these, so they
// cannot disagree.

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

extension KeyValidator {
    /// Checks an event's organization (its data is the store's or the
    /// service's own, never a caller's).
    package func event(_ event: NewEvent) throws(KeyStoreError) -> NewEvent {
        _ = try organizationId(event.organizationId)
        return event
    }
}
