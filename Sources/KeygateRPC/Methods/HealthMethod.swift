public import KeygateService
public import KeyStore
import KeygateLocalization

extension HealthReport.Status: WireEnum {}

/// `health.check`: ``KeygateService/health()`` as a load balancer and a
/// monitor read it, in the style of the IETF health-check draft
/// (docs/PROTOCOL.md, "Health").
public enum CheckHealth: RPCMethod {
    public static let name = "health.check"
    public static let summary = """
        Whether this process and its database answer, what an operator should fix, and what verification has done; \
        changes nothing.
        """
    public struct Params: Decodable, Sendable {}

    /// The reply: the worst status, the HTTP status for it, each check.
    public struct Result: WireObject {
        public var status: HealthReport.Status
        public var httpStatus: Int
        public var version: String
        public var checks: [Check]
        public var verification: VerificationStatistics
        public static let fields: [WireField<Result>] = [
            .init("status", { $0.status }, """
                The worst of the checks: pass; warn (serving correctly, with something to fix); fail (the database \
                does not answer: keys this process holds are still verified, every other request fails).
                """),
            .init("httpStatus", { $0.httpStatus }, "What a health endpoint answers for it: 503 on fail, else 200."),
            .init("version", { $0.version }, "This process's Keygate version."),
            .init("checks", { $0.checks }, """
                database and rateLimits always, clock on PostgreSQL while the server answers, and usage, disk, \
                changes, writes, fileSystem and reads when they warn.
                """),
            .init("verification", { $0.verification }),
        ]
    }

    /// What a check looked at.
    public enum CheckID: String, WireEnum {
        case database, rateLimits, clock, usage, disk, changes, writes, fileSystem, reads
    }

    /// Why a check did not pass: stable across versions and languages.
    public enum Problem: String, WireEnum {
        case storageFailure = "storage_failure"
        case rateLimitsOwn = "rate_limits_own"
        case clockOff = "clock_off"
        case readOnly = "read_only"
        case networkFileSystem = "network_file_system"
        case slowerReads = "slower_reads"
        case changesPolled = "changes_polled"
        case flushFailing = "flush_failing"
        case lowDiskSpace = "low_disk_space"

        /// The code a shortcoming is reported with.
        public init(_ shortcoming: StoreShortcoming) {
            self = switch shortcoming.kind {
            case .rateLimitsOwn: .rateLimitsOwn
            case .readOnly: .readOnly
            case .networkFileSystem: .networkFileSystem
            case .slowerReads: .slowerReads
            case .changesPolled: .changesPolled
            case .lowDiskSpace: .lowDiskSpace
            }
        }

        /// What a process records of its health for `keygate status`
        /// (``KeygateService/SettingName/healthWarnings``): failing flushes
        /// and its store's shortcomings, but for its rate limits and its
        /// clock, which it records apart.
        public static func recorded(shortcomings: [StoreShortcoming], flushFailures: FlushFailures?) -> [Problem] {
            (flushFailures == nil ? [] : [.flushFailing]) + shortcomings.map(Problem.init).filter { $0 != .rateLimitsOwn }
        }
    }

    /// The unit of a check's ``Check/observedValue``.
    public enum Unit: String, WireEnum {
        case microseconds = "us"
        case milliseconds = "ms"
        case seconds = "s"
        case mebibytes = "MiB"
    }

    /// One check: what it looked at, how it came out, what it measured,
    /// and when it did not pass, why and what to do.
    public struct Check: WireObject {
        public var id: CheckID
        public var status: HealthReport.Status
        public var observedValue: Int?
        public var observedUnit: Unit?
        public var code: Problem?
        public var message: String?
        public static let fields: [WireField<Check>] = [
            .init("id", { $0.id }), .init("status", { $0.status }),
            .init("observedValue", { $0.observedValue }, """
                database: the read's round trip (us); clock: this host's clock ahead of the database server's \
                (ms, negative when behind); usage: how long flushes have failed (s); disk: the space free (MiB); null \
                otherwise.
                """),
            .init("observedUnit", { $0.observedUnit }),
            .init("code", { $0.code }, "Why the check did not pass; null when it did."),
            .init("message", { $0.message }, "What to do about it, in the request's language; null when it passed."),
        ]
    }
}

/// What verification has done since the process started (counts that only
/// grow: the difference between two readings is what happened in between),
/// and what its cache holds now.
extension VerificationStatistics: WireObject {
    public static let fields: [WireField<VerificationStatistics>] = [
        .init("verifications", { $0.verifications }, "Well-formed keys verified since the process started."),
        .init("keyReads", { $0.keyReads }, "Verifications the cache could not answer alone: reads of a key."),
        .init("organizationReads", { $0.organizationReads }),
        .init("countReads", { $0.countReads }),
        .init("cachedKeys", { $0.cachedKeys }), .init("cachedOrganizations", { $0.cachedOrganizations }),
        .init("cacheCapacity", { $0.cacheCapacity }, "Keys, and organizations, the cache may hold (--cache-keys)."),
        .init("knownMisses", { $0.knownMisses }, "Made-up keys remembered apart, each read once."),
    ]
}

extension CheckHealth.Result {
    /// The report in `language`: each check with its code and message.
    init(_ report: HealthReport, localizer: Localizer, language: String) {
        func check(_ id: CheckHealth.CheckID, _ status: HealthReport.Status, value: Int? = nil,
                   unit: CheckHealth.Unit? = nil, problem: CheckHealth.Problem? = nil, variant: String? = nil,
                   _ arguments: [String: MessageArgument] = [:]) -> CheckHealth.Check {
            let message = problem.map { problem in
                let key = "health.\(problem.rawValue)"
                let chosen = variant.map { "\(key).\($0)" }.flatMap { localizer.contains($0) ? $0 : nil } ?? key
                return localizer.string(chosen, arguments, language: language)
            }
            return CheckHealth.Check(id: id, status: status, observedValue: value, observedUnit: unit, code: problem,
                                     message: message)
        }
        var checks: [CheckHealth.Check] = []
        switch report.database {
        case .success(let duration):
            checks.append(check(.database, .pass, value: Int(duration / .microseconds(1)), unit: .microseconds))
        case .failure(let error):
            checks.append(check(.database, .fail, problem: .storageFailure, variant: error.parameters["reason"]))
        }
        let ownLimits = report.shortcomings.contains { $0.kind == .rateLimitsOwn }
        checks.append(ownLimits ? check(.rateLimits, .warn, problem: .rateLimitsOwn) : check(.rateLimits, .pass))
        if let clock = report.clock {
            checks.append(check(.clock, report.clockIsOff ? .warn : .pass, value: clock.aheadMilliseconds, unit: .milliseconds,
                                problem: report.clockIsOff ? .clockOff : nil, variant: clock.seconds < 0 ? "ahead" : "behind",
                                ["seconds": .number(max(1, Int(abs(clock.seconds).rounded())))]))
        }
        if let failures = report.flushFailures {
            let seconds = max(0, Int(report.at.timeIntervalSince(failures.since)))
            checks.append(check(.usage, .warn, value: seconds, unit: .seconds, problem: .flushFailing,
                                variant: failures.latest.parameters["reason"], ["seconds": .number(max(1, seconds))]))
        }
        for shortcoming in report.shortcomings {
            switch shortcoming {
            case .rateLimitsOwn: break
            case .readOnly: checks.append(check(.writes, .warn, problem: .init(shortcoming)))
            case .networkFileSystem(let type):
                checks.append(check(.fileSystem, .warn, problem: .init(shortcoming), ["fileSystem": .text(type)]))
            case .slowerReads: checks.append(check(.reads, .warn, problem: .init(shortcoming)))
            case .lowDiskSpace(let free, let needed):
                checks.append(check(.disk, .warn, value: Int(free / 1_048_576), unit: .mebibytes, problem: .init(shortcoming),
                                    ["free": .number(Int(free / 1_048_576)), "needed": .number(Int(needed / 1_048_576))]))
            case .changesPolled(let every):
                checks.append(check(.changes, .warn, problem: .init(shortcoming), ["seconds": .number(max(1, Int(every.rounded())))]))
            }
        }
        // In the order the contract publishes, whatever order the store lists them in.
        let order = CheckHealth.CheckID.allCases
        checks.sort { order.firstIndex(of: $0.id)! < order.firstIndex(of: $1.id)! }
        self.init(status: report.status, httpStatus: report.status == .fail ? 503 : 200, version: KeygateVersion.current,
                  checks: checks, verification: report.verification)
    }
}
