public import Foundation
public import KeyStore

/// How a service is doing, as a load balancer or a monitor asks
/// (``KeygateService/health()``; the `health.check` method): whether its
/// database answers and how fast, what keeps its store from working as
/// well as it should, whether its clock agrees with the database
/// server's, and what verification has done.
public struct HealthReport: Sendable {
    /// How one check, and the whole report, came out.
    public enum Status: String, Sendable, Hashable, CaseIterable {
        /// Nothing wrong found.
        case pass
        /// Serving correctly, with something an operator should fix.
        case warn
        /// The database does not answer: verification goes on for the keys
        /// this process holds, every other request fails.
        case fail
    }

    /// The database's answer to a read (``KeyStorage/probe()``): how long
    /// it took, or why it failed.
    public var database: Result<Duration, ServiceError>
    /// What keeps the store from working as well as it should
    /// (``KeyStorage/shortcomings``).
    public var shortcomings: [StoreShortcoming]
    /// Flushes of verification's counts failing since a first failure;
    /// `nil` while the last succeeded (or none has run).
    public var flushFailures: FlushFailures?
    /// When the report was made (the service's clock): how long flushes
    /// have failed is measured to it.
    public var at: Date
    /// This process's clock against the database server's, where other
    /// hosts share the server (PostgreSQL) and it answered; `nil` otherwise.
    public var clock: ClockOffset?
    /// What verification has done since the service started, and what its
    /// cache holds.
    public var verification: VerificationStatistics

    /// A report as ``KeygateService/health()`` makes it; tests and
    /// monitors of their own build one to see how it reads.
    public init(database: Result<Duration, ServiceError>, shortcomings: [StoreShortcoming],
                flushFailures: FlushFailures? = nil, at: Date = Date(), clock: ClockOffset?,
                verification: VerificationStatistics) {
        self.database = database
        self.shortcomings = shortcomings
        self.flushFailures = flushFailures
        self.at = at
        self.clock = clock
        self.verification = verification
    }

    /// Whether the clock is off by more than ``ClockOffset/tolerance``.
    public var clockIsOff: Bool {
        clock?.isOff ?? false
    }

    /// The worst of the checks: `fail` when the database does not answer,
    /// `warn` when a shortcoming, failing flushes or the clock need an
    /// operator.
    public var status: Status {
        if case .failure = database { return .fail }
        return shortcomings.isEmpty && flushFailures == nil && !clockIsOff ? .pass : .warn
    }
}

extension KeygateService {
    /// What keeps this service's store from working as well as it should,
    /// now (``KeyStorage/shortcomings``): for a log that says when each
    /// begins and ends; ``health()`` reports them with the rest.
    public var shortcomings: [StoreShortcoming] { storage.shortcomings }

    /// Since when flushes of verification's counts have failed, and why
    /// the latest did; `nil` while the last succeeded.
    public var flushFailures: FlushFailures? { verification.flushFailures.withLock { $0 } }

    /// How this service is doing now (``HealthReport``): one read of the
    /// database, timed, and where other hosts share its server, a few reads
    /// of the server's clock. Changes nothing; cheap enough for a health
    /// check every second, never per request.
    public func health() -> HealthReport {
        let timer = ContinuousClock()
        let start = timer.now
        let database: Result<Duration, ServiceError>
        do throws(ServiceError) {
            try store { () throws(KeyStoreError) in try storage.probe() }
            database = .success(timer.now - start)
        } catch {
            database = .failure(error)
        }
        // Measured only while the server answers: the failed read says why
        // it does not, and a clock that cannot be read is no warning.
        let offset: ClockOffset? = if case .success = database { try? clockOffset() } else { nil }
        return HealthReport(database: database, shortcomings: shortcomings,
                            flushFailures: flushFailures, at: clock.now(), clock: offset,
                            verification: verificationStatistics)
    }
}
