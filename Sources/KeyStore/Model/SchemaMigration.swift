/// What bringing a database to this build's schema found and left
/// (`SQLiteKeyStorage.migrate(path:)`, `PostgresKeyStorage.migrate(url:)`).
public struct SchemaMigration: Sendable, Hashable {
    /// The schema when the store looked, before it migrated:
    /// ``StoreStatus/Schema/empty`` for a database no Keygate had opened.
    /// Another process migrating at the same moment may have applied some
    /// of what lies between this and ``after``.
    public var before: StoreStatus.Schema
    /// The schema it left: this build's,
    /// ``StoreStatus/Schema/current(latest:)``.
    public var after: StoreStatus.Schema

    public init(before: StoreStatus.Schema, after: StoreStatus.Schema) {
        self.before = before
        self.after = after
    }

    /// Whether anything was due: the schema before was not already this build's.
    public var changed: Bool { before != after }
}
