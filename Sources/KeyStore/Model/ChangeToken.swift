/// Identifies the state of the stored data, in three parts.
public struct ChangeToken: Sendable, Hashable {
    /// Moves when keys, secrets or subscriptions change, here or in another
    /// process: the position in the change log, whose entries since an
    /// earlier token (``KeyStorage/changes(after:through:)``) say what to
    /// read again.
    public let keys: Int64
    /// Moves on any commit to the database, usage flushes of meters
    /// included (keys' counts in SQLite's usage file are not the database's).
    public let data: Int64
    /// The count version: moves when a flush adds to meters, here or in
    /// another process; the rows it moved carry it
    /// (``SubscriptionStorage/meterChanges(meter:after:through:)``).
    public let counts: Int64

    public init(keys: Int64, data: Int64, counts: Int64) {
        self.keys = keys
        self.data = data
        self.counts = counts
    }
}

/// What changed between two change tokens: the keys, organizations and
/// secrets whose derived state must be read again. Everything else stays.
public struct ChangeSet: Sendable, Hashable {
    /// Keys changed, created, deleted, or given or stripped of a secret.
    public var keys: Set<String> = []
    /// Organizations whose keys or subscription changed (a key's change can
    /// change which of its organization's keys are within the plan).
    public var organizations: Set<String> = []
    /// Secrets that now exist: a cached "no such key" for one is stale.
    public var digests: Set<KeyDigest> = []
    /// Organizations whose subscription changed (a billing event), among
    /// ``organizations``: what may have moved their quota periods.
    public var subscriptions: Set<String> = []
    /// Organizations erased (``KeyStorage/eraseOrganization(_:actor:)``),
    /// among ``organizations``: what the process counted of them and has
    /// not written was counted before the erasure, and is dropped.
    public var erased: Set<String> = []

    public init() {}
}
