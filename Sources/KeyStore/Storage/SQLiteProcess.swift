internal import CSQLiteTuning

/// Settings SQLite takes once per process, before its first connection.
/// The library never applies them itself: they change SQLite for every
/// other user of it in the process, so the process's owner decides
/// (`keygate serve` does, first thing).
///
/// Call them before anything in the process opens a database, and while
/// no other thread uses SQLite: `sqlite3_config` is not thread-safe. Once
/// SQLite is initialized they change nothing, and say so.
public enum SQLiteProcess {
    /// Turns off SQLite's memory statistics for the whole process.
    ///
    /// With them on (SQLite's default), every allocation and free SQLite
    /// makes takes one global mutex to keep the totals. Verification's
    /// look-ups on one thread and a flush on another then wait for each
    /// other there, where they share nothing else (docs/PERFORMANCE.md).
    /// Keygate reads none of those totals.
    ///
    /// - Returns: whether the setting took effect.
    @discardableResult
    public static func disableMemoryStatistics() -> Bool {
        keygate_sqlite3_config_memstatus(0) == 0
    }
}
