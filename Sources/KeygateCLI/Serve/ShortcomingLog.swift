import KeyStore
import Logging

/// Says what keeps the store from working as well as it should
/// (``StoreShortcoming``): each when it is first seen, at start or at a
/// later sweep, and that it is over when it goes. `health.check` reports
/// the same at any moment; the log keeps when it began and ended.
struct ShortcomingLog {
    private let logger: Logger
    private let database: String
    private var said: [StoreShortcoming] = []

    init(logger: Logger, database: String) {
        self.logger = logger
        self.database = database
    }

    /// Logs what is new in `current` and what is gone since the last
    /// report, by kind: a disk whose free space moved is not news.
    mutating func report(_ current: [StoreShortcoming]) {
        for shortcoming in current where !said.contains(where: { $0.kind == shortcoming.kind }) { warn(shortcoming) }
        for shortcoming in said where !current.contains(where: { $0.kind == shortcoming.kind }) { over(shortcoming) }
        said = current
    }

    private func warn(_ shortcoming: StoreShortcoming) {
        switch shortcoming {
        case .networkFileSystem(let kind):
            logger.warning("""
                the database is on a network file system: processes cannot share its log index or rate limits \
                through it, and SQLite's log does not work there; keep it on the host's own disk, or use PostgreSQL \
                for several hosts
                """, metadata: ["database": "\(database)", "fileSystem": "\(kind)"])
        case .readOnly:
            // Read-only is SQLite's silent fallback: without a word here the
            // first sign would be a refused change on the dashboard.
            logger.warning("""
                the database is read-only to this process: keys are verified and read, every change is refused; \
                restart it once it may write the file and its folder
                """, metadata: ["database": "\(database)"])
        case .rateLimitsOwn(let reason):
            // Serving all the same: a key's limit holds in this process, and
            // the operator learns that it no longer holds across processes.
            logger.warning("rate limits are this process's own: with several processes on this database a key's limit multiplies", metadata: [
                "reason": "\(reason)",
            ])
        case .slowerReads(let missing):
            // Correct answers all the same; the operator learns why this
            // process is slower than its siblings.
            for missing in missing {
                logger.warning("reading more slowly: a fast read could not be set up", metadata: ["missing": "\(missing)"])
            }
        case .lowDiskSpace(let free, let needed):
            // Before the disk is full: then every change and every usage
            // flush is refused.
            logger.warning("""
                the database's disk is nearly full: an upgrade's migration or a backup beside the database needs \
                about as much as it takes, and a full disk refuses every change and usage flush; free space, or keep \
                less usage history (--usage-retention-days)
                """, metadata: ["database": "\(database)", "freeMiB": "\(free / 1_048_576)", "neededMiB": "\(needed / 1_048_576)"])
        case .changesPolled(let every):
            // Still correct within the poll: what other hosts change is
            // seen up to that late here, not within milliseconds.
            logger.warning("""
                changes on other hosts reach this process by a poll, not at their commit: the connection listening \
                for them is down, and reconnects by itself
                """, metadata: ["pollSeconds": "\(every)"])
        }
    }

    private func over(_ shortcoming: StoreShortcoming) {
        switch shortcoming {
        case .changesPolled:
            logger.notice("changes on other hosts reach this process at their commit again: it listens for them")
        case .lowDiskSpace:
            logger.notice("the database's disk has room again", metadata: ["database": "\(database)"])
        case .networkFileSystem, .readOnly, .rateLimitsOwn, .slowerReads:
            // None of these mends while a process runs today; said all the
            // same should a store's one day.
            logger.notice("no longer so", metadata: ["was": "\(shortcoming)"])
        }
    }
}
