/// A file of a SQLite database that changed under a running store:
/// removed, moved or replaced while the store had it open
/// (``SQLiteKeyStorage/takeFileChanges()``).
///
/// SQLite goes on with the file it opened, so a database removed from
/// under its processes keeps answering from the removed file in each of
/// them, while every process started since makes a new, empty one: two
/// truths that nothing else would reveal.
public enum DatabaseFileChange: Sendable, Hashable {
    /// `path` (the database, or its usage file) no longer names the file
    /// the store opened. The store goes on with the file it opened, which
    /// processes started since do not see: restart every process once the
    /// right file is in place.
    case replaced(path: String)
    /// `path` names the file the store opened again (moved back).
    case restored(path: String)
    /// The rate-limit table at `path` was removed or replaced, and the
    /// store now shares the one there (made, if there was none): each
    /// key's limit starts there from a full allowance.
    case rateLimitsRejoined(path: String)
    /// The rate-limit table was removed or replaced, and the one now at
    /// its path cannot be used (`reason`): the store keeps the table it
    /// had, which processes started since do not share, and tries again
    /// at each look.
    case rateLimitsApart(reason: String)
}
