import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Whether the disk under a SQLite database has room for what a database
/// needs beyond its growth: an upgrade whose migration rebuilds a table
/// writes a copy of it beside the original, as does `keygate backup`
/// to the same folder, and a full disk refuses every change (and every
/// usage flush) until space is freed.
enum DiskSpace {
    /// Less free than this is short whatever the database's size: a day's
    /// usage flushes of a busy product, or its log, take tens of megabytes.
    static let floor: Int64 = 100 * 1_024 * 1_024

    /// The room a database of `databaseBytes` (its files together) needs
    /// free: the larger of ``floor`` and its own size.
    static func needed(databaseBytes: Int64) -> Int64 {
        max(floor, databaseBytes)
    }

    /// The bytes free to this process on the file system of `path`'s
    /// folder, and what the files at `paths` take together; `nil` when the
    /// file system cannot be asked.
    static func measure(folderOf path: String, files paths: [String]) -> (free: Int64, used: Int64)? {
        var system = statvfs()
        guard statvfs(KeyDatabase.folder(of: path), &system) == 0 else { return nil }
        let free = Int64(system.f_bavail) * Int64(system.f_frsize)
        let used = paths.reduce(Int64(0)) { total, path in
            var status = stat()
            return stat(path, &status) == 0 ? total + Int64(status.st_size) : total
        }
        return (free, used)
    }
}
