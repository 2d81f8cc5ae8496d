public import Foundation

/// Verifications of one key on one UTC day, added to the stored counts in a
/// batch (the verification path buffers them rather than writing per request).
public struct UsageIncrement: Sendable, Hashable {
    public var keyId: String
    /// The UTC day the verifications happened on.
    public var day: Date
    public var valid: Int
    public var invalid: Int
    /// The latest successful use in the batch, with where it came from.
    public var lastUsedAt: Date?
    public var lastOrigin: String?
    public var lastIP: String?
    /// The invalid ones by the verification code that refused them
    /// (`revoked`, `rate_limited`, …).
    public var refusals: [String: Int]
    /// Every verification by the capability it asked for (or its route's).
    public var capabilities: [String: Int]

    public init(
        keyId: String, day: Date, valid: Int, invalid: Int,
        lastUsedAt: Date? = nil, lastOrigin: String? = nil, lastIP: String? = nil,
        refusals: [String: Int] = [:], capabilities: [String: Int] = [:]
    ) {
        self.keyId = keyId
        self.day = day
        self.valid = valid
        self.invalid = invalid
        self.lastUsedAt = lastUsedAt
        self.lastOrigin = lastOrigin
        self.lastIP = lastIP
        self.refusals = refusals
        self.capabilities = capabilities
    }

    /// The breakdown rows the store writes: (dimension, name, count).
    package var breakdown: [(dimension: String, name: String, count: Int)] {
        refusals.filter { $0.value > 0 }.map { ("outcome", $0.key, $0.value) }
            + capabilities.filter { $0.value > 0 }.map { ("capability", $0.key, $0.value) }
    }
}

/// Verification counts of one UTC day.
public struct UsageDay: Sendable, Hashable {
    /// The day, `YYYY-MM-DD`.
    public let date: String
    /// `nil` when the counts are summed over the organization's keys.
    public let keyId: String?
    public let valid: Int
    public let invalid: Int
    /// The invalid ones by the code that refused them; codes with none are absent.
    public let refusals: [String: Int]
    /// Verifications by the capability they asked for (or their route's),
    /// valid or not; those that asked for none are not here.
    public let capabilities: [String: Int]

    /// For the stores of this package, which build it from what they read.
    package init(date: String, keyId: String?, valid: Int, invalid: Int, refusals: [String: Int] = [:],
                 capabilities: [String: Int] = [:]) {
        self.date = date
        self.keyId = keyId
        self.valid = valid
        self.invalid = invalid
        self.refusals = refusals
        self.capabilities = capabilities
    }
}

/// One step of a pass that folds keys' usage past a retention
/// (``KeyStorage/foldUsage(before:due:after:keys:)``).
public struct UsageFold: Sendable, Hashable {
    /// The key-days folded.
    public var folded: Int
    /// The last key the step looked at, where the next step goes on;
    /// `nil` when the pass has gone through every key.
    public var next: String?

    public init(folded: Int, next: String?) {
        self.folded = folded
        self.next = next
    }
}
