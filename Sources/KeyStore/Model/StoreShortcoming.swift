public import Foundation

/// Something that keeps a store from working as well as it should while it
/// still works: answers stay correct, and an operator has something to fix.
/// What `keygate serve` warns of when it starts and what the `health.check`
/// method reports for as long as it lasts (``KeyStorage/shortcomings``).
public enum StoreShortcoming: Sendable, Hashable {
    /// The rate-limit table beside a SQLite file could not be used: each
    /// process enforces its own limits, so with several processes on the
    /// database a key's limit multiplies. `reason` is for the log.
    case rateLimitsOwn(reason: String)
    /// The database could be opened only for reading: keys are verified
    /// and read, and every change is refused until the store is opened
    /// again with write access.
    case readOnly
    /// The database file is on a network file system of this type (`nfs4`,
    /// `cifs`, …), where processes share no memory through the files beside
    /// it and SQLite's log does not work.
    case networkFileSystem(type: String)
    /// Fast reads that could not be set up, each named with what takes its
    /// place: answers stay correct and as fresh, only slower.
    case slowerReads([String])
    /// Changes other hosts commit reach this process by a poll every this
    /// many seconds, not within milliseconds of their commit: the
    /// connection that listens for them is down (PostgreSQL), and
    /// reconnects by itself.
    case changesPolled(every: TimeInterval)
    /// The disk under the database has `free` bytes, fewer than `needed`:
    /// the larger of 100 MiB and what the database's files take, the room
    /// an upgrade's migration or a backup beside it writes. Full, it
    /// refuses every change and every usage flush.
    case lowDiskSpace(free: Int64, needed: Int64)

    /// Which shortcoming, whatever its values: a disk's free space moves
    /// all the time, and is still the one shortcoming.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case rateLimitsOwn, readOnly, networkFileSystem, slowerReads, changesPolled, lowDiskSpace
    }

    /// Which shortcoming this is.
    public var kind: Kind {
        switch self {
        case .rateLimitsOwn: .rateLimitsOwn
        case .readOnly: .readOnly
        case .networkFileSystem: .networkFileSystem
        case .slowerReads: .slowerReads
        case .changesPolled: .changesPolled
        case .lowDiskSpace: .lowDiskSpace
        }
    }
}

extension StoreShortcoming: CustomStringConvertible {
    /// English, for a library user's log; `health.check` says it in the
    /// caller's language.
    public var description: String {
        switch self {
        case .rateLimitsOwn(let reason):
            "rate limits are this process's own: with several processes on this database a key's limit multiplies (\(reason))"
        case .readOnly:
            "the database is read-only to this process: keys are verified and read, every change is refused"
        case .networkFileSystem(let type):
            "the database is on a network file system (\(type)): processes cannot share rate limits through it"
        case .slowerReads(let missing):
            "reading more slowly: a fast read could not be set up (\(missing.joined(separator: "; ")))"
        case .lowDiskSpace(let free, let needed):
            "the database's disk has \(free / 1_048_576) MiB free, less than the \(needed / 1_048_576) MiB it should keep free"
        case .changesPolled(let every):
            "changes on other hosts are polled for every \(every) s: the connection listening for them is down"
        }
    }
}
