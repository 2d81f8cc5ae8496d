/// What bringing a database to this build's schema found
/// (`SQLiteKeyStorage.migrate(path:)`, `PostgresKeyStorage.migrate(url:)`,
/// a store's `openingMigration`). It always leaves this build's schema, or
/// throws.
public struct SchemaMigration: Sendable, Hashable {
    /// The schema when the store looked, before it migrated:
    /// ``StoreStatus/Schema/empty`` for a database no Keygate had opened.
    /// Another process migrating at the same moment may have applied some
    /// of what lies between this and ``latest``.
    public var before: StoreStatus.Schema
    /// This build's last migration, where the schema was left.
    public var latest: String

    public init(before: StoreStatus.Schema, latest: String) {
        self.before = before
        self.latest = latest
    }

    /// Whether anything was due: the schema before was not already this build's.
    public var changed: Bool { before != .current(latest: latest) }
}
