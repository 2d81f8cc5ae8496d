import Locking

/// Looks at the files of a SQLite database the store opened, after each
/// usage flush: moves to a rate-limit table that replaced the one in use
/// (``SharedRateTable/followReplacement()``), and notes a database or
/// usage file that its path no longer names. Three `stat` calls a look,
/// one look a flush: a taker of the changes looks only where no flush did.
final class DatabaseFiles: Sendable {
    private let table: SharedRateTable?
    /// The database and its usage file, with the file each path named at the start.
    private let opened: [(path: String, file: FileIdentity)]
    private let state = Locked(State())

    private struct State {
        /// Paths that name another file, or none, at the last look.
        var replaced: Set<String> = []
        /// Why the table at the limits path could not be used, at the last look.
        var tableApart: String?
        /// What changed, until taken.
        var changes: [DatabaseFileChange] = []
        /// Whether a look was made since the changes were last taken.
        var looked = false
    }

    /// What is kept for a taker that never comes (a program embedding the
    /// library that does not ask): the latest changes.
    private static let kept = 16

    init(databasePath: String, usagePath: String?, table: SharedRateTable?) {
        self.table = table
        opened = [databasePath, usagePath].compactMap { path in
            path.flatMap { path in FileIdentity.at(path).map { (path, $0) } }
        }
    }

    /// Looks once, and keeps what changed since the last look.
    func look() {
        let follow = table?.followReplacement()
        let stillOpened = opened.map { ($0.path, FileIdentity.at($0.path) == $0.file) }
        state.withLock { state in
            var changes: [DatabaseFileChange] = []
            for (path, same) in stillOpened {
                if !same, state.replaced.insert(path).inserted { changes.append(.replaced(path: path)) }
                if same, state.replaced.remove(path) != nil { changes.append(.restored(path: path)) }
            }
            switch follow {
            case .rejoined(let path)?:
                state.tableApart = nil
                changes.append(.rateLimitsRejoined(path: path))
            case .unavailable(let reason)?:
                if state.tableApart != reason { changes.append(.rateLimitsApart(reason: reason)) }
                state.tableApart = reason
            case .same?, nil:
                break
            }
            state.looked = true
            state.changes.append(contentsOf: changes)
            state.changes.removeFirst(max(0, state.changes.count - Self.kept))
        }
    }

    /// Hands over what changed since the last hand-over, looking first
    /// unless a flush looked since then (a flush that failed did not).
    func takeChanges() -> [DatabaseFileChange] {
        if !state.withLock({ $0.looked }) { look() }
        return state.withLock { state in
            defer { (state.changes, state.looked) = ([], false) }
            return state.changes
        }
    }
}
