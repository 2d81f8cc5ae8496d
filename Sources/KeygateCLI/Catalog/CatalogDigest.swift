/// How the command line shows a catalog's digest.
enum CatalogDigest {
    /// The first 16 hex digits of a catalog's SHA-256: what logs and
    /// `catalog validate` show, and what `sha256sum FILE | cut -c1-16`
    /// prints for its file. Enough to tell catalogs apart at a glance.
    static func short(_ digest: String) -> String { String(digest.prefix(16)) }
}
