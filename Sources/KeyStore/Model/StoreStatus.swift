/// What a database holds and which settings the processes on it record,
/// read without changing it (`keygate status`): what an operator checks
/// before, during and after an upgrade rolls through the processes that
/// share it.
public struct StoreStatus: Sendable, Hashable {
    /// The database's schema against this build's.
    public enum Schema: Sendable, Hashable {
        /// No Keygate schema yet: the first process to open the database creates it.
        case empty
        /// Migrated as far as this build migrates: `latest` is its last migration.
        case current(latest: String)
        /// Migrated by an earlier Keygate, up to `latest`: the next process
        /// of this build to open it applies `pending`, in order.
        case behind(latest: String, pending: [String])
        /// Migrated by a later Keygate: `unknown` are the migrations this
        /// build does not know, and it refuses to open the database.
        case ahead(unknown: [String])
    }

    /// The database's schema against this build's.
    public var schema: Schema
    /// Keys, whatever their status.
    public var keys: Int
    /// Organizations with a subscription.
    public var organizations: Int
    /// The settings processes recorded within the window asked for, most
    /// recent first (``SubscriptionStorage/recordSettings(_:within:)``);
    /// `nil` where the schema is too old to hold them.
    public var settings: [SettingInUse]?
    /// Each process's settings recorded within the window, a row per
    /// process and setting, most recent first; `nil` where the schema is
    /// too old to hold them. Processes of a keygate that records only
    /// ``settings`` (schema v17 on SQLite, 15 on PostgreSQL) are missing here.
    public var processes: [SettingInUse]?

    public init(schema: Schema, keys: Int, organizations: Int, settings: [SettingInUse]?,
                processes: [SettingInUse]? = nil) {
        self.schema = schema
        self.keys = keys
        self.organizations = organizations
        self.settings = settings
        self.processes = processes
    }
}
