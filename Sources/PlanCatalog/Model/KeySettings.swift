/// What every key of the product looks like: `<prefix>_<environment>_<secret>`.
public struct KeySettings: Sendable, Hashable {
    /// The brand at the start of every key (`kg` in `kg_live_…`), which also
    /// lets secret scanners recognise a leaked key.
    public let prefix: String
    /// The environments a key may be issued for, such as `live` and `test`,
    /// in catalog order.
    public let environments: [String]
    /// Formats of keys the product issued before Keygate, which verification
    /// still accepts once they are imported.
    public let legacyFormats: [LegacyFormat]

    public init(prefix: String, environments: [String], legacyFormats: [LegacyFormat] = []) {
        self.prefix = prefix
        self.environments = environments
        self.legacyFormats = legacyFormats
    }

    /// Keys from before Keygate: `<prefix><body>` with no checksum, stored by
    /// the product as a digest of the whole key.
    public struct LegacyFormat: Sendable, Hashable {
        /// Separators included: `qv_pk_`.
        public let prefix: String
        /// One of the catalog's environments, which such keys are recorded in.
        public let environment: String
        public let digest: Digest

        public init(prefix: String, environment: String, digest: Digest = .sha256) {
            self.prefix = prefix
            self.environment = environment
            self.digest = digest
        }
    }

    /// How a legacy key's stored digest was made.
    public enum Digest: String, Sendable, Hashable {
        /// SHA-256 of the whole key, as Keygate stores every key.
        case sha256
    }
}
