import Foundation

/// Files written whole before they are named: synced to disk, then renamed,
/// then their folder synced, so that after a power loss a name points at a
/// whole file or at nothing.
enum FileSync {
    static func file(_ path: String) throws(SQLiteBackup.Failure) {
        try sync(path, flags: O_RDONLY)
    }

    /// Syncs the folder that holds `path`, which makes a rename in it durable.
    static func directory(of path: String) throws(SQLiteBackup.Failure) {
        try sync(KeyDatabase.folder(of: path), flags: O_RDONLY | O_DIRECTORY)
    }

    /// The file's size in bytes; 0 if there is none.
    static func size(of path: String) -> Int64 {
        var status = stat()
        return stat(path, &status) == 0 ? Int64(status.st_size) : 0
    }

    /// Whether two paths name one file (by device and inode: links and
    /// other spellings included); false if either does not exist.
    static func same(_ one: String, _ other: String) -> Bool {
        guard let first = FileIdentity.at(one) else { return false }
        return first == FileIdentity.at(other)
    }

    private static func sync(_ path: String, flags: Int32) throws(SQLiteBackup.Failure) {
        let descriptor = open(path, flags | O_CLOEXEC)
        guard descriptor >= 0 else { throw SQLiteBackup.Failure(.io, path, detail: String(cString: strerror(errno))) }
        defer { close(descriptor) }
        guard fsync(descriptor) == 0 else {
            throw SQLiteBackup.Failure(.io, path, detail: String(cString: strerror(errno)))
        }
    }
}
