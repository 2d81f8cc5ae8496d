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

    public init(
        keyId: String, day: Date, valid: Int, invalid: Int,
        lastUsedAt: Date? = nil, lastOrigin: String? = nil, lastIP: String? = nil
    ) {
        self.keyId = keyId
        self.day = day
        self.valid = valid
        self.invalid = invalid
        self.lastUsedAt = lastUsedAt
        self.lastOrigin = lastOrigin
        self.lastIP = lastIP
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

    /// For the stores of this package, which build it from what they read.
    package init(date: String, keyId: String?, valid: Int, invalid: Int) {
        self.date = date
        self.keyId = keyId
        self.valid = valid
        self.invalid = invalid
    }
}
