public import Foundation

/// Flushes of verification's counts failing one after another
/// (``KeygateService/flushUsage()``): the counts stay in memory, and are
/// lost if the process stops before a flush succeeds. What `health.check`
/// warns of; the next flush that succeeds ends it.
public struct FlushFailures: Sendable, Hashable {
    /// When the first of them failed (the service's clock).
    public var since: Date
    /// How many have failed since.
    public var count: Int
    /// Why the latest failed.
    public var latest: ServiceError

    /// Failures since `since`, `count` of them, the latest for `latest`.
    public init(since: Date, count: Int, latest: ServiceError) {
        self.since = since
        self.count = count
        self.latest = latest
    }
}
