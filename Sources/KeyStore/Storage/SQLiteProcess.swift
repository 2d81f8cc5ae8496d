internal import CSQLiteTuning
import Locking

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

    /// Keeps each savepoint's journal in memory, in one block of `bytes`,
    /// up to that size.
    ///
    /// A unit of work runs every command in a savepoint, whose journal
    /// keeps the first version of each page the command changes: a key
    /// creation changes about a dozen 4 KiB pages. Without this setting
    /// Keygate's connections keep those journals in memory in blocks of
    /// about 1 KiB (`temp_store = MEMORY`), allocated and freed for every
    /// command: 47,000 of a creation's 415,000 instructions in `keygate
    /// serve` (docs/PERFORMANCE.md). With it they keep them in one block,
    /// and a command that changes more than `bytes` of pages moves its
    /// journal to a temporary file, as SQLite does by default past 64 KiB
    /// (docs/OPERATIONS.md says where).
    ///
    /// - Returns: whether the setting took effect; if not, connections
    ///   keep their journals in small blocks as before.
    @discardableResult
    public static func keepSavepointJournalsInMemory(upTo bytes: Int = 1 << 20) -> Bool {
        precondition(bytes > 0 && bytes <= Int(Int32.max), "a journal size in bytes")
        let applied = keygate_sqlite3_config_stmtjrnl_spill(Int32(bytes)) == 0
        if applied { journalsInOneBlock.withLock { $0 = true } }
        return applied
    }

    /// Whether ``keepSavepointJournalsInMemory(upTo:)`` took effect, read
    /// as each connection opens (``KeyDatabase/configuration(usage:)``).
    static var savepointJournalsInOneBlock: Bool {
        journalsInOneBlock.withLock { $0 }
    }

    private static let journalsInOneBlock = Locked(false)
}
