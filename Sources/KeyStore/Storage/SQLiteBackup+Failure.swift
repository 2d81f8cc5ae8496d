extension SQLiteBackup {
    /// Why a backup or a restore did nothing: a code, the file it is about,
    /// and SQLite's or the system's own words where they help.
    public struct Failure: Error, Sendable, Hashable, CustomStringConvertible {
        public enum Code: String, Sendable, Hashable, CaseIterable {
            /// The database or the backup does not exist.
            case notFound = "not_found"
            /// A backup's file is already there; a backup replaces nothing.
            case exists
            /// Another process has the database open.
            case inUse = "in_use"
            /// SQLite found the file damaged, or it is no database at all.
            case damaged
            /// A database, but not Keygate's.
            case notKeygate = "not_keygate"
            /// A backup of a later version of Keygate; ``Failure/detail``
            /// names the migrations this version does not know.
            case newer
            /// The backup's usage file is missing, and the backup needs it.
            case incomplete
            /// The backup named is the database itself (the same file,
            /// by any path).
            case sameFile = "same_file"
            /// The path can name no database file: it is empty, or names
            /// a folder, a device or another file that is not a regular
            /// one. ``Failure/detail`` says which.
            case notAFile = "not_a_file"
            /// The file system refused (permissions, a full disk…).
            case io
        }

        public let code: Code
        /// The file concerned.
        public let path: String
        public let detail: String?

        init(_ code: Code, _ path: String, detail: String? = nil) {
            self.code = code
            self.path = path
            self.detail = detail
        }

        public var description: String {
            let detail = self.detail.map { " (\($0))" } ?? ""
            switch code {
            case .notFound:
                return "\(path) does not exist"
            case .exists:
                return "\(path) already exists; a backup never replaces a file"
            case .inUse:
                return "\(path) is open in another process; stop every process using it "
                    + "(keygate serve, import, scan and programs embedding Keygate) first"
            case .damaged:
                return "\(path) is damaged or not a database\(detail)"
            case .notKeygate:
                return "\(path) is not a Keygate database"
            case .newer:
                return "\(path) was written by a later version of Keygate\(detail); restore it with that version"
            case .incomplete:
                return "\(path) is missing: a backup is the database's file and its usage file beside it"
            case .sameFile:
                return "\(path) is the database itself; restore from a backup of it"
            case .notAFile:
                let reason = self.detail ?? "it is not a file"
                return path.isEmpty ? reason : "\(path): \(reason)"
            case .io:
                return "\(path): \(self.detail ?? "cannot be read or written")"
            }
        }
    }
}
