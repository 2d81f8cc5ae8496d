package import Foundation

/// The store's checks of what callers send, each failure with its code and field.
package struct KeyValidator {
    package let rules: KeyRules

    package init(rules: KeyRules) {
        self.rules = rules
    }

    package func organizationId(_ id: String) throws(KeyStoreError) -> String {
        guard !id.isEmpty, id.utf8.count <= KeyRules.maximumIdentifierLength,
            id.unicodeScalars.allSatisfy({ $0.isPrintableASCII })
        else {
            throw KeyStoreError(.invalidOrganizationId, field: "organizationId",
                                ["max": "\(KeyRules.maximumIdentifierLength)"])
        }
        return id
    }

    /// Trimmed; 1-100 characters; no control or invisible formatting
    /// characters, which would let one name pass for another in a dashboard.
    package func name(_ name: String) throws(KeyStoreError) -> String {
        // Most names have nothing to trim: Foundation's trimming, a few
        // microseconds, only when an end is whitespace.
        let scalars = name.unicodeScalars
        let clean = scalars.first.map { !$0.properties.isWhitespace } == true
            && scalars.last.map { !$0.properties.isWhitespace } == true
        let trimmed = clean ? name : name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard KeyRules.nameLength.contains(trimmed.count) else {
            throw KeyStoreError(.invalidName, field: "name",
                                ["min": "\(KeyRules.nameLength.lowerBound)", "max": "\(KeyRules.nameLength.upperBound)"])
        }
        if let bad = trimmed.unicodeScalars.first(where: Self.isInvisible) {
            throw KeyStoreError(.invalidName, field: "name", ["reason": "character", "character": Self.codePoint(bad)])
        }
        return trimmed
    }

    package func kind(_ kind: String) throws(KeyStoreError) -> String {
        guard rules.kinds.contains(exactly: kind) else {
            throw KeyStoreError(.unknownKind, field: "kind", ["kind": excerpt(kind)])
        }
        return kind
    }

    package func capabilities(_ capabilities: [String]) throws(KeyStoreError) -> [String] {
        guard !capabilities.isEmpty else {
            throw KeyStoreError(.invalidCapabilities, field: "capabilities", ["reason": "empty"])
        }
        var seen = Set<String>()
        for capability in capabilities {
            guard rules.capabilities.contains(exactly: capability) else {
                throw KeyStoreError(.unknownCapability, field: "capabilities", ["capability": excerpt(capability)])
            }
            guard seen.insert(capability).inserted else {
                throw KeyStoreError(.invalidCapabilities, field: "capabilities",
                                    ["reason": "duplicate", "capability": capability])
            }
        }
        return capabilities
    }

    package func environment(_ environment: String) throws(KeyStoreError) -> String {
        guard rules.format.environments.contains(exactly: environment) else {
            throw KeyStoreError(.unknownEnvironment, field: "environment",
                                ["environment": excerpt(environment),
                                 "allowed": rules.format.environments.joined(separator: ", ")])
        }
        return environment
    }

    package func rateLimit(_ rateLimit: Int) throws(KeyStoreError) -> Int {
        guard KeyRules.rateLimits.contains(rateLimit) else {
            throw KeyStoreError(.invalidRateLimit, field: "rateLimit",
                                ["min": "\(KeyRules.rateLimits.lowerBound)", "max": "\(KeyRules.rateLimits.upperBound)"])
        }
        return rateLimit
    }

    /// Normalized, so the stored form equals what browsers send in `Origin`.
    package func origins(_ origins: [String]) throws(KeyStoreError) -> [String] {
        guard origins.count <= KeyRules.maximumOrigins else {
            throw KeyStoreError(.tooManyOrigins, field: "allowedOrigins", ["max": "\(KeyRules.maximumOrigins)"])
        }
        var normalized: [String] = []
        for origin in origins {
            let value: String
            do {
                value = try WebOrigin.normalize(origin)
            } catch {
                throw KeyStoreError(.invalidOrigin, field: "allowedOrigins",
                                    ["origin": excerpt(origin), "reason": error.reason])
            }
            guard !normalized.contains(value) else {
                throw KeyStoreError(.invalidOrigin, field: "allowedOrigins", ["origin": value, "reason": "duplicate"])
            }
            normalized.append(value)
        }
        return normalized
    }

    package func expiry(_ expiresAt: Date?, now: Date) throws(KeyStoreError) -> Date? {
        guard let expiresAt else { return nil }
        guard expiresAt > now else {
            throw KeyStoreError(.invalidExpiry, field: "expiresAt", ["reason": "past"])
        }
        return expiresAt
    }

    package func actor(_ actor: String?) throws(KeyStoreError) -> String {
        guard let actor else { return "system" }
        guard Self.isValidActor(actor) else {
            throw KeyStoreError(.invalidActor, field: "actor", ["max": "\(KeyRules.maximumActorLength)"])
        }
        return actor
    }

    /// 1 to ``KeyRules/maximumActorLength`` characters, none invisible:
    /// for `keygate import`, which checks its `--actor` once before the lines.
    package static func isValidActor(_ actor: String) -> Bool {
        !actor.isEmpty && actor.count <= KeyRules.maximumActorLength && !actor.unicodeScalars.contains(where: isInvisible)
    }

    package func gracePeriod(_ seconds: Int) throws(KeyStoreError) -> Int {
        guard (0...KeyRules.maximumGracePeriodSeconds).contains(seconds) else {
            throw KeyStoreError(.invalidGracePeriod, field: "gracePeriodSeconds",
                                ["max": "\(KeyRules.maximumGracePeriodSeconds)"])
        }
        return seconds
    }

    package static func pageSize(_ limit: Int?) throws(KeyStoreError) -> Int {
        let limit = limit ?? KeyRules.defaultPageSize
        guard KeyRules.pageSizes.contains(limit) else {
            throw KeyStoreError(.invalidLimit, field: "limit", ["max": "\(KeyRules.pageSizes.upperBound)"])
        }
        return limit
    }

    /// Whether `text` holds a control character (U+0000-001F, U+007F-009F).
    /// Ids a caller makes (billing events, idempotency keys) may not: both
    /// SQLite through GRDB and libpq take text only as far as its first
    /// NUL, so `evt_1\u{0}a` and `evt_1\u{0}b` were one id, and the second
    /// event was taken for the first.
    package static func hasControl(_ text: String) -> Bool {
        text.unicodeScalars.contains { $0.properties.generalCategory == .control }
    }

    /// Whether `id` can name a key. Keys' ids are made here (`key_` and
    /// base62), so text of any other characters names none, and is not
    /// looked up: cut at a NUL by the database's client, `key_…\u{0}x`
    /// found, and revoked, the key `key_…`.
    package static func canNameKey(_ id: String) -> Bool {
        !id.isEmpty && id.utf8.count <= KeyRules.maximumIdentifierLength && id.unicodeScalars.allSatisfy(\.isPrintableASCII)
    }

    /// What a caller reports about the world (where a key leaked, the
    /// origin and address a gateway saw it used from) as Keygate keeps it:
    /// without control characters or invisible formatting, cut between
    /// characters to ``KeyRules/maximumReportedBytes``, trimmed, and `nil`
    /// when nothing is left. Such text is only shown, so it is kept rather
    /// than refused; it is cleaned because it is shown (a bidi override
    /// turns a dashboard's line around, and both databases' clients cut
    /// text at a NUL, so `https://shop.example\u{0}.evil` read as the shop)
    /// and cut because a gateway forwards whatever a client sends.
    package static func reported(_ text: String) -> String? {
        let limit = KeyRules.maximumReportedBytes
        let kept: String
        if text.utf8.count <= limit, text.utf8.allSatisfy({ (0x20...0x7E).contains($0) }) {
            kept = text  // What gateways send: short, printable ASCII.
        } else {
            let printable = String(String.UnicodeScalarView(text.unicodeScalars.filter { !isInvisible($0) }))
            var bytes = 0
            kept = String(printable.prefix { character in
                bytes += character.utf8.count
                return bytes <= limit
            })
        }
        let trimmed = kept.trimmingCharacters(in: .whitespaces)
        return trimmed.isEmpty ? nil : trimmed
    }

    /// Control characters and invisible formatting (bidi overrides, zero-width
    /// spaces), except the joiners that emoji and several scripts need.
    package static func isInvisible(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .control, .lineSeparator, .paragraphSeparator, .surrogate, .unassigned, .privateUse:
            return true
        case .format:
            return scalar != "\u{200D}" && scalar != "\u{200C}"
        default:
            return false
        }
    }

    static func codePoint(_ scalar: Unicode.Scalar) -> String {
        String(format: "U+%04X", scalar.value)
    }

    /// Inputs echoed in errors are cut short, so a 10 MB string never comes
    /// back, and a raw key is shown only as its hint.
    func excerpt(_ value: String) -> String {
        rules.format.redacted(value)
    }
}

private extension Unicode.Scalar {
    var isPrintableASCII: Bool { (0x21...0x7E).contains(value) }
}
