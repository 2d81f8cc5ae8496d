/// What the store accepts: the registry of the catalog (prefix, environments,
/// kinds and capabilities) and the fixed bounds of every key. Plans do not
/// appear here; the service applies them on top.
public struct KeyRules: Sendable, Hashable {
    public let format: KeyFormat
    public let kinds: Set<String>
    public let capabilities: Set<String>

    public static let nameLength = 1...100
    public static let rateLimits = 1...1000
    /// What one `usage.record` may add to a meter.
    public static let amounts = 1...1_000_000_000
    public static let maximumOrigins = 50
    public static let maximumIdentifierLength = 128
    public static let maximumActorLength = 200
    /// The most UTF-8 bytes kept of what a caller reports about the world:
    /// where a key leaked, the origin and address a gateway saw it used from.
    public static let maximumReportedBytes = 300
    /// The most UTF-8 bytes of a revocation's reason (`keygate scan
    /// --revoke`'s "found at PLACE", a leak report's place).
    public static let maximumReasonBytes = 400
    /// The longest grace period a rotation may give the previous secret.
    public static let maximumGracePeriodSeconds = 30 * 24 * 3600
    /// The most secrets of one key that rotations may leave working at
    /// once: each is a credential, and every answer about the key lists
    /// them. A rotation past it with a grace period is refused; one
    /// without, which adds none, never is (a leak must be answerable).
    public static let maximumPreviousSecrets = 10
    public static let pageSizes = 1...200
    public static let defaultPageSize = 50

    public init(format: KeyFormat, kinds: Set<String>, capabilities: Set<String>) {
        self.format = format
        self.kinds = kinds
        self.capabilities = capabilities
    }
}
