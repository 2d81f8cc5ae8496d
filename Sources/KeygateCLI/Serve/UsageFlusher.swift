import Foundation
import KeyStore
import KeygateRPC
import KeygateService
import Logging

/// Writes buffered verification usage to the database every second, and a
/// last time on shutdown; every `sweepEvery` seconds, and at the first
/// tick, records the settings this process runs with (its catalog,
/// retentions, version, sweep interval and options, and on PostgreSQL its
/// clock against the server's, warning while it is off; ``SettingsLog``
/// says what differs in other processes'), writes the events time makes due and prunes those older
/// than any process keeps; every `statisticsEvery` seconds (0: never), logs what
/// verification did; and after each flush, logs the database's files that
/// changed under it; at each sweep, forgets the rate-limit state of keys
/// quiet for an hour, with a usage retention folds older days of keys'
/// usage past the most any process keeps, with an idempotency retention
/// forgets idempotency keys and billing event ids alike, with an audit
/// retention prunes the audit log alike, and says what keeps the
/// store from working as well as it should when that changes. `@unchecked`: the `var`s are touched only by the
/// ticker's ticks, one at a time, and by the last flush, after the ticker
/// has stopped.
final class UsageFlusher: @unchecked Sendable {
    private let service: KeygateService
    private let logger: Logger
    private let ticker = Ticker()
    private let events: EventSchedule
    private let sweepEvery: Int
    private let statisticsEvery: Int
    private let fileChanges: @Sendable () -> [DatabaseFileChange]
    /// What this process runs with (its usage retention: how many days of
    /// keys' usage it is told to keep by day, `nil` for every day; its
    /// sweep interval; what `keygate status` shows of it), recorded at
    /// each sweep.
    private let settings: KeygateService.ProcessSettings
    /// What folding and pruning keep: the most any process on the database
    /// keeps, as last recorded (this process's own until then).
    private var usageRetentionInUse: Int?
    private var idempotencyRetentionInUse: Int?
    private var auditRetentionInUse: Int?
    private var eventRetentionInUse: TimeInterval
    /// The pass that folds keys' usage past the retention: a fifth of a
    /// second of steps a sweep (each a transaction of a thousand keys); a
    /// pass that finds nothing to fold goes through a million keys in
    /// 35-115 sweeps (7-23 µs a key, docs/PERFORMANCE.md), and the next
    /// starts an hour after one ends.
    private var folding = SteppedPass<String>(every: .seconds(3_600), budget: .milliseconds(200))
    /// The pass that forgets idempotency keys and billing event ids past
    /// the retention: a tenth of a second of steps a sweep, each a
    /// transaction of a thousand rows, a pass an hour.
    private var forgettingDeliveries = SteppedPass<DeliveryCursor>(every: .seconds(3_600), budget: .milliseconds(100))
    /// The pass that prunes audit entries past the retention: a tenth of a
    /// second of steps a sweep, each a transaction of up to 250 entries
    /// (``KeygateService/auditPruningStep``), oldest first, a pass an
    /// hour. A pass that finds nothing to prune reads one entry.
    private var pruningAudit = SteppedPass<Int64>(every: .seconds(3_600), budget: .milliseconds(100))
    /// The pass that forgets the rate-limit state of keys quiet for an
    /// hour, on a store whose state can grow (PostgreSQL): a tenth of a
    /// second of steps a sweep, each 10,000 keys' rows (57-69 ms on a
    /// million rows, docs/PERFORMANCE.md), a pass an hour.
    private var forgetting = SteppedPass<Int64>(every: .seconds(3_600), budget: .milliseconds(100))
    /// What other processes' settings this process has said.
    private var settingsLog: SettingsLog
    /// What keeps the store from working as well as it should, as said
    /// (at start, then at each sweep when it changes); `nil`: not said.
    private var shortcomingLog: ShortcomingLog?
    /// Whether this process's clock was off the database server's at the last sweep.
    private var clockOff = false
    private var ticks = 0
    /// Which failed flushes to log: one a minute while they go on.
    private var failures = FailureLog()
    /// The statistics at the last report (at the start, before the first).
    private var reported: VerificationStatistics

    init(service: KeygateService, logger: Logger, events: EventSchedule = EventSchedule(), sweepEvery: Int = 60,
         statisticsEvery: Int = 60, fileChanges: @escaping @Sendable () -> [DatabaseFileChange] = { [] },
         catalogSource: String, usageRetentionDays: Int? = nil, idempotencyRetentionDays: Int? = nil,
         auditRetentionDays: Int? = nil, version: String? = nil, information: [String: String] = [:],
         shortcomings: ShortcomingLog? = nil) {
        self.service = service
        shortcomingLog = shortcomings
        settings = KeygateService.ProcessSettings(catalogSource: catalogSource, usageRetentionDays: usageRetentionDays,
                                                  idempotencyRetentionDays: idempotencyRetentionDays,
                                                  auditRetentionDays: auditRetentionDays,
                                                  eventRetention: events.retention, version: version,
                                                  sweepInterval: sweepEvery, information: information)
        usageRetentionInUse = usageRetentionDays
        idempotencyRetentionInUse = idempotencyRetentionDays
        auditRetentionInUse = auditRetentionDays
        eventRetentionInUse = events.retention
        settingsLog = SettingsLog(logger: logger)
        self.logger = logger
        self.events = events
        self.sweepEvery = sweepEvery
        self.statisticsEvery = statisticsEvery
        self.fileChanges = fileChanges
        reported = service.verificationStatistics
    }

    func start() {
        ticker.start(every: 1) { [self] in flush() }
    }

    /// Stops the ticks, waits for a flush that may be running, and
    /// flushes one last time: again and again, for up to
    /// ``lastFlushPatience``, while the database is out of reach or busy,
    /// unless `giveUp` says to stop waiting (a second SIGTERM or SIGINT).
    func stop(givingUpWhen giveUp: () -> Bool = { false }) {
        ticker.stop()
        let deadline = ContinuousClock.now + Self.lastFlushPatience
        while true {
            do {
                try service.flushUsage()
                logRecovery()
                break
            } catch {
                let transient = error.code == .storageFailure && ["unreachable", "busy"].contains(error.parameters["reason"])
                if transient, ContinuousClock.now < deadline, !giveUp() {
                    logger.warning("usage flush failed; trying again before stopping", metadata: ["reason": "\(error)"])
                    Thread.sleep(forTimeInterval: Self.lastFlushPause)
                    if !giveUp() { continue }
                }
                // No flush comes after this one: the operator must learn
                // that quotas and usage now undercount, not expect a retry.
                let why = giveUp() ? "asked again to stop" : "the last flush before stopping failed"
                logger.error("usage counted since the last written flush is lost: \(why)", metadata: ["reason": "\(error)"])
                break
            }
        }
        if sweepIsDue { sweep() }
        ticks += 1
    }

    /// How long a stopping server keeps trying to write what it counted
    /// while the database cannot be reached or stays locked: a database
    /// restarted, or failed over, during the same deployment should not
    /// cost the counts. Other failures (read-only, full, damaged) would
    /// not mend in that time, and are not tried again.
    static let lastFlushPatience: Duration = .seconds(10)
    private static let lastFlushPause: TimeInterval = 0.5

    private func flush() {
        do {
            try service.flushUsage()
            logRecovery()
        } catch {
            // The counts stay buffered; the next flush tries again.
            switch failures.failed("\(error)", at: .now) {
            case .failed?:
                logger.warning("usage flush failed", metadata: ["reason": "\(error)"])
            case .stillFailing(let failures, let seconds)?:
                logger.warning("usage flush still failing: the counts are kept in memory meanwhile", metadata: [
                    "reason": "\(error)", "failures": "\(failures)", "seconds": "\(seconds)",
                ])
            case .recovered?, nil:
                break
            }
        }
        // Recording and folding not at the last flush: a stopping process
        // no longer serves, and folding can wait for the next to start.
        if sweepIsDue {
            let shortcomings = service.shortcomings
            shortcomingLog?.report(shortcomings)
            recordSettings(shortcomings: shortcomings)
            sweep()
            foldUsage()
            forgetDeliveries()
            pruneAudit()
            forgetIdleRateLimits()
        }
        for change in fileChanges() { log(change) }
        ticks += 1
        if statisticsEvery > 0, ticks % statisticsEvery == 0 { report() }
    }

    /// Says that a flush succeeded, if flushes had failed before it.
    private func logRecovery() {
        if case .recovered(let failures, let seconds)? = failures.succeeded(at: .now) {
            logger.notice("usage flush succeeded again: the counts kept meanwhile are written", metadata: [
                "failures": "\(failures)", "seconds": "\(seconds)",
            ])
        }
    }

    /// What verification did since the last report, and what the cache
    /// holds: the share of verifications that had to read their key is
    /// what tells whether `--cache-keys` is too small for the keys in use.
    private func report() {
        let now = service.verificationStatistics
        let before = reported
        reported = now
        let verifications = now.verifications - before.verifications
        let keyReads = now.keyReads - before.keyReads
        let share = verifications == 0 ? 0 : Double(keyReads) / Double(verifications) * 100
        logger.info("verification statistics", metadata: [
            "seconds": "\(statisticsEvery)",
            "verifications": "\(verifications)",
            "keyReads": "\(keyReads)",
            "keyReadPercent": "\((share * 10).rounded() / 10)",
            "organizationReads": "\(now.organizationReads - before.organizationReads)",
            "countReads": "\(now.countReads - before.countReads)",
            "cachedKeys": "\(now.cachedKeys)",
            "cachedOrganizations": "\(now.cachedOrganizations)",
            "cacheCapacity": "\(now.cacheCapacity)",
            "knownMisses": "\(now.knownMisses)",
        ])
    }

    /// A file removed, moved or replaced under the server: each is a
    /// split between processes that nothing else would show (those started
    /// since open other files), so each is said once, when first seen.
    private func log(_ change: DatabaseFileChange) {
        switch change {
        case .replaced(let path):
            logger.error("""
                a file this process opened was removed, moved or replaced: this process goes on with the file it opened, \
                processes started since open another; restart every process once the right file is in place
                """, metadata: ["file": "\(path)"])
        case .restored(let path):
            logger.notice("a file this process opened is back at its path", metadata: ["file": "\(path)"])
        case .rateLimitsRejoined(let path):
            logger.warning("""
                the rate-limit table was removed or replaced: this process now shares the one at its path, \
                where each key's limit starts from a full allowance
                """, metadata: ["file": "\(path)"])
        case .rateLimitsApart(let reason):
            logger.error("""
                the rate-limit table was removed or replaced, and the new one cannot be used: this process keeps its own, \
                which processes started since do not share
                """, metadata: ["reason": "\(reason)"])
        }
    }

    /// Every `sweepEvery` flushes, and at the first.
    private var sweepIsDue: Bool { ticks % sweepEvery == 0 }

    /// Writes the events time makes due, and prunes those older than any
    /// process on the database keeps.
    private func sweep() {
        do {
            let written = try service.sweepEvents(EventSchedule(retention: eventRetentionInUse,
                                                                expiryNotice: events.expiryNotice))
            if written > 0 { logger.debug("time-based events written", metadata: ["count": "\(written)"]) }
        } catch {
            // Each due event is written once, whenever a sweep succeeds.
            logger.warning("event sweep failed", metadata: ["reason": "\(error)"])
        }
    }

    /// Goes on with the pass that folds keys' usage past the retention
    /// that every process on the database keeps (the most any keeps).
    private func foldUsage() {
        guard settings.usageRetentionDays != nil, let keptDays = usageRetentionInUse else { return }
        resume(&folding, done: "keys' usage past the retention folded", counted: "keyDays", evenNone: true,
               failed: "folding usage past the retention failed") { cursor throws(ServiceError) in
            let step = try service.foldUsage(keepingDays: keptDays, after: cursor)
            return (step.folded, step.next)
        }
    }

    /// Goes on with the pass that forgets idempotency keys (of uses and
    /// key creations) and billing event ids past the retention every
    /// process on the database keeps
    /// (the most any keeps).
    private func forgetDeliveries() {
        guard settings.idempotencyRetentionDays != nil, let keptDays = idempotencyRetentionInUse else { return }
        resume(&forgettingDeliveries, done: "idempotency keys and billing event ids past the retention forgotten",
               failed: "forgetting idempotency keys past the retention failed") { cursor throws(ServiceError) in
            let step = try service.forgetDeliveries(keepingDays: keptDays, after: cursor)
            return (step.forgotten, step.next)
        }
    }

    /// Goes on with the pass that prunes audit entries past the retention
    /// every process on the database keeps (the most any keeps).
    private func pruneAudit() {
        guard settings.auditRetentionDays != nil, let keptDays = auditRetentionInUse else { return }
        resume(&pruningAudit, done: "audit entries past the retention pruned",
               failed: "pruning audit entries past the retention failed") { cursor throws(ServiceError) in
            let step = try service.pruneAudit(keepingDays: keptDays, after: cursor)
            return (step.pruned, step.next)
        }
    }

    /// Goes on with the pass that forgets quiet keys' rate-limit state.
    /// Nothing depends on it but the table's size, so a failure is said
    /// at debug.
    private func forgetIdleRateLimits() {
        resume(&forgetting, done: "quiet keys' rate-limit state forgotten", counted: "keys",
               failed: "forgetting quiet keys' rate-limit state failed", failure: .debug) { cursor throws(ServiceError) in
            let step = try service.forgetIdleRateLimits(after: cursor)
            return (step.forgotten, step.next)
        }
    }

    /// Goes on with `pass` by `step` while its budget lasts, and says at
    /// debug what a pass that ended did (`done`, its sum as `counted`,
    /// when it did anything or `evenNone`), or why a step failed
    /// (`failed`, at `failure`): the pass goes on from the same place at
    /// the next sweep.
    private func resume<Cursor>(
        _ pass: inout SteppedPass<Cursor>, done: Logger.Message, counted: String = "count", evenNone: Bool = false,
        failed: Logger.Message, failure: Logger.Level = .warning,
        _ step: (Cursor?) throws(ServiceError) -> (done: Int, next: Cursor?)
    ) {
        do {
            if let total = try pass.resume(step), evenNone || total > 0 {
                logger.debug(done, metadata: [counted: "\(total)"])
            }
        } catch {
            logger.log(level: failure, failed, metadata: ["reason": "\(error)"])
        }
    }

    /// Records this process's settings, with its clock's offset and what
    /// its health warns of (failing flushes, `shortcomings`), takes up what folding and pruning
    /// keep (the most any process keeps), and says what differs in the
    /// others' (``SettingsLog``). A value counts as in use for three sweeps
    /// after it was last recorded (three of its own, when its process
    /// sweeps less often): a sweep that failed or ran late does not make
    /// it vanish and reappear.
    private func recordSettings(shortcomings: [StoreShortcoming]) {
        var settings = self.settings
        if let ahead = measureClock() { settings.information[KeygateService.SettingName.clockOffset] = ahead }
        // Recorded even when there is none: the row of a warning that is
        // over must say so, not keep the last one.
        let warnings = CheckHealth.Problem.recorded(shortcomings: shortcomings, flushFailures: service.flushFailures)
        settings.information[KeygateService.SettingName.healthWarnings] = warnings.isEmpty
            ? "none" : warnings.map(\.rawValue).joined(separator: ",")
        let inUse: KeygateService.SettingsInUse
        do {
            inUse = try service.recordSettings(settings, host: Self.hostName, processId: getpid(),
                                               within: TimeInterval(ServeCommand.sweepsCounted * sweepEvery))
        } catch {
            // Debug only: the sweep just after fails alike and says why.
            // Folding and pruning go on by what was last recorded.
            logger.debug("settings not recorded", metadata: ["reason": "\(error)"])
            return
        }
        logger.debug("settings recorded", metadata: ["otherCatalogs": "\(inUse.otherCatalogs.count)"])
        usageRetentionInUse = inUse.usageRetentionDays
        idempotencyRetentionInUse = inUse.idempotencyRetentionDays
        auditRetentionInUse = inUse.auditRetentionDays
        eventRetentionInUse = inUse.eventRetention
        settingsLog.report(inUse, mine: settings, catalogDigest: service.catalog.digest)
    }

    /// This process's clock against the database server's, where other
    /// hosts share it, as recorded (milliseconds ahead): a warning once
    /// while it is off by more than ``ClockOffset/tolerance``, and a notice
    /// once it agrees again, by the rule `keygate status` applies to it.
    private func measureClock() -> String? {
        let offset: ClockOffset?
        do {
            offset = try service.clockOffset()
        } catch {
            // The settings' record just after fails alike and says why.
            return nil
        }
        guard let offset else { return nil }
        let off = offset.isOff
        if off, !clockOff {
            logger.warning("""
                this host's clock is off from the database server's: keys wait longer on the other hosts, or here, and \
                expire and change quota periods early or late here, until the host's clock is synchronized (NTP, chrony)
                """, metadata: [
                    "aheadSeconds": "\(String(format: "%.3f", -offset.seconds))",
                    "uncertaintySeconds": "\(String(format: "%.3f", offset.uncertainty))",
                ])
        } else if !off, clockOff {
            logger.notice("this host's clock agrees with the database server's again", metadata: [
                "aheadSeconds": "\(String(format: "%.3f", -offset.seconds))",
            ])
        }
        clockOff = off
        return String(offset.aheadMilliseconds)
    }

    /// This host's name, as `hostname` prints it; read once.
    static let hostName: String = {
        var name = [CChar](repeating: 0, count: 256)
        guard gethostname(&name, name.count - 1) == 0 else { return "unknown" }
        return String(decoding: name.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }()
}
