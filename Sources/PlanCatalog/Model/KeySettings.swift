/// What every key of the product looks like: `<prefix>_<environment>_<secret>`.
public struct KeySettings: Sendable, Hashable {
    /// The brand at the start of every key (`kg` in `kg_live_…`), which also
    /// lets secret scanners recognise a leaked key.
    public let prefix: String
    /// The environments a key may be issued for, such as `live` and `test`,
    /// in catalog order.
    public let environments: [String]

    public init(prefix: String, environments: [String]) {
        self.prefix = prefix
        self.environments = environments
    }
}
