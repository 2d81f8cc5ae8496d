import Foundation
import GRDBSQLite

/// Consistent copies of a Keygate SQLite database, taken while processes
/// use it, and put back while none does.
///
/// A backup is itself a Keygate database: the database's file and, beside
/// it, its usage file (``KeyDatabase/usagePath(for:)``), so `keygate serve
/// --database <backup>` opens it as it is. It holds what the database
/// holds: keys' digests, never a secret. The rate limits file (`-limits`)
/// is not part of it: it is state of the moment, and the processes that
/// share a database rebuild it.
///
/// ```swift
/// let taken = try SQLiteBackup.write(database: "keygate.sqlite", to: "/backups/keygate-2026-12-01.sqlite")
/// // Later, with every process on keygate.sqlite stopped:
/// let restored = try SQLiteBackup.restore(from: "/backups/keygate-2026-12-01.sqlite", into: "keygate.sqlite")
/// ```
public enum SQLiteBackup {
    /// What a backup holds.
    public struct Summary: Sendable, Hashable {
        /// Keys, whatever their status.
        public var keys: Int
        /// Organizations with a subscription.
        public var organizations: Int
        /// The backup's files together, in bytes.
        public var bytes: Int64
        /// The position of the newest event (`events.list`). After a
        /// restore, the position new events follow: past every event the
        /// replaced database had written, so that a notifier's cursor still
        /// finds the events written after the restore.
        public var lastEventPosition: Int64
    }

    /// Writes a backup of the database at `path` to `destination` (and its
    /// usage file beside it), while other processes go on using the
    /// database.
    ///
    /// Each file is copied in one read transaction (`VACUUM INTO`), so the
    /// copy is the file as one commit left it, and writers never wait for
    /// it. The database is copied before its usage file: a key's counts are
    /// always read through the key, so counts flushed between the two
    /// copies are either of keys the copy holds or never read. The copies
    /// are written beside `destination` under a temporary name, checked
    /// (`PRAGMA quick_check`), synced to disk and only then given their
    /// names: a backup that exists is whole.
    ///
    /// - Throws: ``Failure`` `exists` if either file is already there (a
    ///   backup never replaces a file); `notAFile`, `notFound`,
    ///   `notKeygate`, `damaged` or `io` otherwise.
    public static func write(database path: String, to destination: String) throws(Failure) -> Summary {
        try checkNamesFiles(path, destination)
        try checkFolder(of: destination)
        guard FileManager.default.fileExists(atPath: path) else { throw Failure(.notFound, path) }
        let usage = KeyDatabase.usagePath(for: path)
        let withUsage = KeyDatabase.attachesUsage && FileManager.default.fileExists(atPath: usage)
        let targets = [destination, KeyDatabase.usagePath(for: destination)]
        for target in targets where FileManager.default.fileExists(atPath: target) {
            throw Failure(.exists, target)
        }
        let copies = Array(targets.prefix(withUsage ? 2 : 1))
        let partials = copies.map { $0 + ".partial" }
        // What a failed run left, and on failure what this one did: the
        // names are this command's own.
        for partial in partials { unlink(partial) }
        defer { for partial in partials { unlink(partial) } }

        let database = try Connection(copying: path)
        _ = try database.inspect(checking: false)
        try database.vacuum(into: partials[0])
        if withUsage {
            try Connection(copying: usage).vacuum(into: partials[1])
        }
        var summary = try Connection(partials[0], flags: SQLITE_OPEN_READONLY).inspect(as: destination).summary
        if withUsage { try Connection(partials[1], flags: SQLITE_OPEN_READONLY).checkUsage(as: copies[1]) }
        // The usage file first: the database's file is what says a backup
        // is there.
        for (partial, copy) in zip(partials, copies).reversed() {
            try FileSync.file(partial)
            guard rename(partial, copy) == 0 else { throw Failure(.io, copy, detail: String(cString: strerror(errno))) }
        }
        try FileSync.directory(of: destination)
        summary.bytes = copies.reduce(0) { $0 + FileSync.size(of: $1) }
        return summary
    }

    /// Refuses, before anything is read or written, a path that can name
    /// no database file (``KeyDatabase/refusal(of:)``): SQLite took an empty
    /// one for a temporary database (a restore "restored" into it and left
    /// a usage file named `-usage`), and said "disk I/O error" of a folder.
    private static func checkNamesFiles(_ paths: String...) throws(Failure) {
        for path in paths {
            if let refusal = KeyDatabase.refusal(of: path) { throw Failure(.notAFile, path, detail: refusal) }
        }
    }

    /// Refuses a file to be written in a folder that is not there, saying
    /// so: SQLite said only "unable to open database", of the temporary
    /// copy's name, after the database's own.
    private static func checkFolder(of path: String) throws(Failure) {
        if let folder = KeyDatabase.missingFolder(of: path) {
            throw Failure(.io, path, detail: "its folder \(folder) does not exist")
        }
        // The copy, and SQLite's journal beside it, are new files there.
        if let (folder, reason) = KeyDatabase.unwritableFolder(of: path) {
            throw Failure(.io, path, detail: "its folder \(folder) cannot be written (\(reason))")
        }
    }

    /// Replaces the database at `path` (or creates it) with the backup at
    /// `backup`, which is left as it is.
    ///
    /// No process may have the database open: this holds it exclusively
    /// from its first read to the end, so a process started meanwhile waits
    /// for it, or fails after the busy timeout. Each file is replaced in
    /// one transaction of SQLite's, so a restore that fails or is killed
    /// leaves each file whole, either as it was or restored; run it again
    /// before starting any process. Events continue past the replaced
    /// database's newest, so a notifier's cursor stays valid (it sees no
    /// events from between the backup and the restore: they are gone with
    /// the rest of that time's changes).
    ///
    /// - Throws: ``Failure`` `inUse` if a process has the database open;
    ///   `notAFile`, `notFound`, `incomplete`, `damaged`, `notKeygate` (for the backup,
    ///   or for a database that is someone else's), `newer` (a backup of a
    ///   later version of Keygate), `sameFile` (the backup is the database)
    ///   or `io`.
    public static func restore(from backup: String, into path: String) throws(Failure) -> Summary {
        try checkNamesFiles(backup, path)
        try checkFolder(of: path)
        guard FileManager.default.fileExists(atPath: backup) else { throw Failure(.notFound, backup) }
        // Otherwise the backup's own connection would hold the database
        // open, and the restore would blame another process.
        guard !FileSync.same(backup, path) else { throw Failure(.sameFile, backup) }
        let source = try Connection(backup, flags: SQLITE_OPEN_READONLY)
        var inspection = try source.inspect()
        let backupUsage = KeyDatabase.usagePath(for: backup)
        let usageSource: Connection?
        if KeyDatabase.attachesUsage, FileManager.default.fileExists(atPath: backupUsage) {
            usageSource = try Connection(backupUsage, flags: SQLITE_OPEN_READONLY)
            try usageSource?.checkUsage(as: backupUsage)
        } else if KeyDatabase.attachesUsage, !inspection.countsInDatabase {
            // Keys' counts were in the usage file: without it they would be lost.
            throw Failure(.incomplete, backupUsage)
        } else {
            usageSource = nil
        }

        let existed = FileSync.size(of: path) > 0
        let database = try Connection(path, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
        try database.holdExclusively()
        let replacedEvents = existed ? try database.eventPosition() : 0

        if KeyDatabase.attachesUsage {
            let usage = try Connection(KeyDatabase.usagePath(for: path), flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            try usage.holdExclusively()
            if let usageSource {
                try usageSource.copy(into: usage)
            } else if try usage.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'usage_moved'") > 0 {
                // A backup from before keys' counts had a file of their own:
                // its migration moves them into this one, which must be empty.
                try usage.execute("""
                    BEGIN;
                    DELETE FROM key_usage_day; DELETE FROM key_usage_count; DELETE FROM usage_flush; DELETE FROM usage_moved;
                    COMMIT;
                    """)
            }
            // Keys deleted after the backup's database was copied are named
            // in its usage file (or in the one replaced) so that no flush
            // counts them: restored, they count again. Those names are for
            // the processes that had the replaced database open, now gone.
            if try usage.integer("SELECT COUNT(*) FROM sqlite_master WHERE name = 'key_forgotten'") > 0 {
                try usage.execute("DELETE FROM key_forgotten")
            }
        }

        inspection.summary.bytes = FileSync.size(of: backup) + (usageSource == nil ? 0 : FileSync.size(of: backupUsage))

        // Where the replaced database's events went further than the
        // backup's, they move past them in a copy beside the database (the
        // backup is left as it is), and the copy replaces the database in
        // one transaction. Otherwise the backup replaces it directly: a
        // copy fewer (1,000,000 keys: 3.9 s → 1.9-2.5 s; PERFORMANCE.md).
        guard replacedEvents > inspection.summary.lastEventPosition else {
            try source.copy(into: database)
            return inspection.summary
        }
        let staging = path + ".restoring"
        unlink(staging)
        defer {
            unlink(staging)
            unlink(staging + "-journal")
        }
        do {
            let copy = try Connection(staging, flags: SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE)
            try source.copy(into: copy)
            try copy.execute("""
                UPDATE sqlite_sequence SET seq = \(replacedEvents) WHERE name = 'outbox_event';
                INSERT INTO sqlite_sequence (name, seq) SELECT 'outbox_event', \(replacedEvents)
                    WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'outbox_event');
                """)
            inspection.summary.lastEventPosition = replacedEvents
            try copy.copy(into: database)
        }
        return inspection.summary
    }
}
