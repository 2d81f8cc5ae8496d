import Foundation
public import GRDB

/// Opens Keygate's SQLite database and brings its schema up to date.
///
/// A file database is a `DatabasePool` in WAL mode, so readers never wait for
/// the writer and several processes can share the file; a busy timeout lets a
/// writer wait for another process's transaction instead of failing.
public enum KeyDatabase {
    /// How long a write waits for another connection's lock before it fails.
    public static let busyTimeout: Double = 5

    /// Opens (creating if needed) and migrates the database file at `path`.
    ///
    /// Processes starting together on a new file race to switch it to WAL,
    /// and SQLite answers the loser's `PRAGMA journal_mode` with SQLITE_BUSY
    /// at once, without its busy handler; opening is therefore retried for
    /// as long as the busy timeout.
    public static func open(path: String) throws -> DatabasePool {
        let deadline = Date().addingTimeInterval(busyTimeout)
        while true {
            do {
                let pool = try DatabasePool(path: path, configuration: configuration())
                try migrator.migrate(pool)
                return pool
            } catch let error as DatabaseError where error.resultCode == .SQLITE_BUSY && Date() < deadline {
                Thread.sleep(forTimeInterval: .random(in: 0.005...0.02))
            }
        }
    }

    /// A private in-memory database, for tests and tools.
    public static func inMemory() throws -> DatabaseQueue {
        let queue = try DatabaseQueue(configuration: configuration())
        try migrator.migrate(queue)
        return queue
    }

    static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.label = "keygate"
        // WAL with synchronous=NORMAL: a commit is durable once written to
        // the log, which no process crash can undo; only a power loss may
        // drop the last commits (never corrupt the file). FULL would fsync
        // every commit and halve how many keys can be created per second.
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return configuration
    }
}
