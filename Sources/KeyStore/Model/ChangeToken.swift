/// Identifies the state of the stored data, in two parts.
public struct ChangeToken: Sendable, Hashable {
    /// Moves when keys, secrets or subscriptions change, here or in another
    /// process: everything derived from them must be read again.
    public let keys: Int64
    /// Moves on any commit, usage flushes included: stored counts must be
    /// read again, nothing else.
    public let data: Int64
}
