import ArgumentParser
import Foundation
import KeyStore
import KeyStorePostgres
import KeygateLocalization
import KeygateRPC
import KeygateService
import Logging
import PlanCatalog

struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Answer JSON-RPC 2.0 on stdin and stdout, one message per line.",
        discussion: """
            stdout carries protocol messages only; logs go to stderr. On end of input, \
            SIGTERM or SIGINT the server finishes the request in hand, writes buffered \
            usage (trying for up to 10 s while the database is out of reach) and exits 0.
            """
    )

    @Option(help: ArgumentHelp(
        "The SQLite database, created on first use, or PostgreSQL's postgresql://… URL or host=… dbname=… string.",
        discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    @Option(help: ArgumentHelp(
        "On PostgreSQL, how verification learns of other hosts' changes: notified, polled or strict.",
        discussion: """
            notified (default): LISTEN/NOTIFY, within milliseconds of the commit, and a poll every \
            second while notifications are down. polled: a poll every second, no LISTEN (for poolers \
            that cannot pass it). strict: the server is asked on every verification. \
            Default: $KEYGATE_FRESHNESS, then notified (polled with --pool-mode transaction).
            """))
    var freshness: String?

    @Option(help: ArgumentHelp(
        "On PostgreSQL, rate limits while the server cannot be reached: local or refuse.",
        discussion: """
            local (default): each process enforces each key's whole limit on its own until the server \
            is back. refuse: verifications that reach the rate limiter are refused (rate_limited, retry \
            in a second). Default: $KEYGATE_RATE_LIMIT_OUTAGE, then local.
            """))
    var rateLimitOutage: String?

    @Option(help: ArgumentHelp(
        "On PostgreSQL, how many seconds verification's reads wait for the server's answer.",
        discussion: """
            Past it the statement is canceled and the verification answers storage_failure (busy); a \
            server that answers neither it nor the cancel within a second more is deemed unreachable, \
            and keys in memory are verified meanwhile. Writes and listings wait 30 s. From 0.01 to 30. \
            Default: $KEYGATE_ANSWER_TIMEOUT, then 2.
            """))
    var answerTimeout: String?

    @Option(help: ArgumentHelp(
        "On PostgreSQL, how many seconds keys in memory keep being verified while the server cannot be reached.",
        discussion: """
            Counted from the server's last answer; past it, verifications answer storage_failure \
            (unreachable) until it answers again: the bound on answers gone stale while other hosts \
            may commit (a revocation) that this one cannot hear. 0 refuses at once. From 0 to 86400. \
            Default: $KEYGATE_UNREACHABLE_GRACE, then 60.
            """))
    var unreachableGrace: String?

    @OptionGroup var poolMode: PoolModeOption

    @Option(help: ArgumentHelp("The plan catalog.", discussion: "Default: $KEYGATE_CATALOG, then the shipped Plans/plans.xml."))
    var catalog: String?

    @Option(help: ArgumentHelp("The folder of .xcstrings files.", discussion: "Default: $KEYGATE_LOCALIZATION, then the shipped Localization/."))
    var localization: String?

    @Option(help: ArgumentHelp("The language of messages when a request names none (en, pl, de).", discussion: "Default: $KEYGATE_LOCALE, then en."))
    var locale: String?

    @Option(help: "The longest request line, in bytes; longer ones are answered with an error and skipped.")
    var maxLineBytes: Int = 1 << 20

    @Option(help: "trace, debug, info, notice, warning, error or critical (default: $KEYGATE_LOG_LEVEL, then info).")
    var logLevel: String?

    @Option(help: "text, or json for one JSON object a line (default: $KEYGATE_LOG_FORMAT, then text).")
    var logFormat: String?

    @Option(help: ArgumentHelp(
        "How many seconds ahead of this host's clock a billing event may be dated; later ones are refused.",
        discussion: "Default: $KEYGATE_EVENT_CLOCK_SKEW, then 300."))
    var eventClockSkew: Int?

    @Option(help: ArgumentHelp(
        "How many days events are kept for events.list.",
        discussion: "Pruning keeps them as long as any process on the database keeps them. "
            + "Default: $KEYGATE_EVENT_RETENTION_DAYS, then 30."))
    var eventRetentionDays: Int?

    @Option(help: ArgumentHelp(
        "How often, in seconds, time-based events (keys expiring, expired) are written and old ones pruned, "
            + "and this process's catalog, retentions and version recorded for the others and keygate status.",
        discussion: """
            Give every process on a database the same: each counts another's record for three sweeps, \
            three of the other's own when it sweeps less often.
            """))
    var eventSweepSeconds: Int = defaultSweepSeconds

    /// How often serve records its settings by default, and for how many
    /// sweeps a record counts (a late or failed sweep does not make a
    /// process vanish): what `keygate status` looks back by too.
    static let defaultSweepSeconds = 60
    static let sweepsCounted = 3

    @Option(help: ArgumentHelp(
        "How many UTC days, today included, usage.get keeps keys' usage by day.",
        discussion: """
            Older days are folded into each key's totals once 30 of them are past it, so usage.get has \
            up to 30 days more; keys.get's totals and last use stay whole. Folding keeps the most days any \
            process on the database keeps. Default: $KEYGATE_USAGE_RETENTION_DAYS, then every day is kept.
            """))
    var usageRetentionDays: Int?

    @Option(help: ArgumentHelp(
        "How many days the idempotency keys of usage.record, keys.create and keys.rotate, and billing event ids, are remembered.",
        discussion: """
            A retry after that is a new call: a use counts again; a creation makes a new key; a rotation rotates the key \
            again; a billing event older than its organization's last is answered stale_event and changes nothing. \
            Forgetting keeps the most days any process on the database keeps; keygate status counts what is remembered. \
            Default: $KEYGATE_IDEMPOTENCY_RETENTION_DAYS, then for good.
            """))
    var idempotencyRetentionDays: Int?

    @Option(help: ArgumentHelp(
        "How many days audit.list keeps audit entries.",
        discussion: """
            Older entries, every organization's, are deleted oldest first, a step at a time at the sweeps. \
            Pruning keeps the most days any process on the database keeps. \
            Default: $KEYGATE_AUDIT_RETENTION_DAYS, then for good.
            """))
    var auditRetentionDays: Int?

    @Option(help: ArgumentHelp(
        "How often, in seconds, verification statistics are logged (info); 0 for never.",
        discussion: "Default: $KEYGATE_STATISTICS_SECONDS, then 60."))
    var statisticsSeconds: Int?

    @Option(help: ArgumentHelp(
        "How many keys, and as many organizations, verification keeps in memory.",
        discussion: """
            Default: $KEYGATE_CACHE_KEYS, then 100000. A key not kept costs a read of the database; \
            what a full cache takes in memory is in docs/OPERATIONS.md.
            """))
    var cacheKeys: Int?

    private var environment: [String: String] { ProcessInfo.processInfo.environment }

    /// The cache size as given, if given: an option's or the environment's text.
    private var cacheKeysText: String? { cacheKeys.map(String.init) ?? environment["KEYGATE_CACHE_KEYS"] }

    /// The sizes the cache may be given; the most is bounded because its
    /// tables are allocated at that size up front.
    static let cacheKeysRange = 1...10_000_000

    private var eventSchedule: EventSchedule {
        let days = eventRetentionText.flatMap(Int.init) ?? 30
        return EventSchedule(retention: TimeInterval(days) * 86_400)
    }

    /// The event retention as given, if given: an option's or the environment's text.
    private var eventRetentionText: String? {
        eventRetentionDays.map(String.init) ?? environment["KEYGATE_EVENT_RETENTION_DAYS"]
    }

    /// The PostgreSQL options, from the options' and the environment's words.
    private var postgresOptions: Database.PostgresOptions {
        get throws {
            try Database.PostgresOptions(freshness: freshness ?? environment["KEYGATE_FRESHNESS"],
                                         rateLimitOutage: rateLimitOutage ?? environment["KEYGATE_RATE_LIMIT_OUTAGE"],
                                         poolMode: poolMode.resolved,
                                         answerTimeout: answerTimeout ?? environment["KEYGATE_ANSWER_TIMEOUT"],
                                         unreachableGrace: unreachableGrace ?? environment["KEYGATE_UNREACHABLE_GRACE"])
        }
    }

    private var level: String { logLevel ?? environment["KEYGATE_LOG_LEVEL"] ?? "info" }
    private var format: String { logFormat ?? environment["KEYGATE_LOG_FORMAT"] ?? "text" }
    private var statisticsText: String { statisticsSeconds.map(String.init) ?? environment["KEYGATE_STATISTICS_SECONDS"] ?? "60" }

    private var clockSkew: String? { eventClockSkew.map(String.init) ?? environment["KEYGATE_EVENT_CLOCK_SKEW"] }

    /// The usage retention as given, if given: an option's or the environment's text.
    private var usageRetentionText: String? {
        usageRetentionDays.map(String.init) ?? environment["KEYGATE_USAGE_RETENTION_DAYS"]
    }

    /// The idempotency retention as given, if given: an option's or the environment's text.
    private var idempotencyRetentionText: String? {
        idempotencyRetentionDays.map(String.init) ?? environment["KEYGATE_IDEMPOTENCY_RETENTION_DAYS"]
    }

    /// The audit retention as given, if given: an option's or the environment's text.
    private var auditRetentionText: String? {
        auditRetentionDays.map(String.init) ?? environment["KEYGATE_AUDIT_RETENTION_DAYS"]
    }

    /// The retentions usage by day, idempotency keys, audit entries and
    /// events may be given: a day at least, a century at most.
    static let retentionRange = 1...36_500

    func validate() throws {
        guard maxLineBytes >= 1024 else { throw ValidationError("--max-line-bytes must be at least 1024") }
        // Bounded above too: a retention or an interval too large for the
        // arithmetic of times trapped the server once it was serving
        // (10^15 days of events, Int.max seconds between sweeps).
        try Self.check(String(eventSweepSeconds), is: "the event sweep interval", in: 1...86_400, of: "seconds")
        if let eventRetentionText {
            try Self.check(eventRetentionText, is: "the event retention", in: Self.retentionRange, of: "days")
        }
        try Self.check(statisticsText, is: "the statistics interval", in: 0...86_400, of: "seconds")
        guard ["text", "json"].contains(format) else {
            throw ValidationError("unknown log format '\(format)'; use text or json")
        }
        guard Logger.Level(rawValue: level) != nil else {
            throw ValidationError("unknown log level '\(level)'; use one of: "
                                  + Logger.Level.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let cacheKeysText { try Self.check(cacheKeysText, is: "the cache size", in: Self.cacheKeysRange, of: "keys") }
        if let usageRetentionText {
            try Self.check(usageRetentionText, is: "the usage retention", in: Self.retentionRange, of: "days")
        }
        if let idempotencyRetentionText {
            try Self.check(idempotencyRetentionText, is: "the idempotency retention", in: Self.retentionRange, of: "days")
        }
        if let auditRetentionText {
            try Self.check(auditRetentionText, is: "the audit retention", in: Self.retentionRange, of: "days")
        }
        if let clockSkew { try Self.check(clockSkew, is: "the event clock skew", in: 0...86_400, of: "seconds") }
        // On every store: a word mistyped on SQLite would otherwise be
        // found only on the move to PostgreSQL.
        _ = try postgresOptions
    }

    /// Refuses an option's or the environment's text that is not a whole
    /// number in `range`, saying which setting, in what unit, and what it got.
    private static func check(_ text: String, is setting: String, in range: ClosedRange<Int>, of unit: String) throws {
        guard let value = Int(text), range.contains(value) else {
            throw ValidationError("\(setting) must be a whole number of \(unit) from \(range.lowerBound) to \(range.upperBound), "
                                  + "not '\(text)'")
        }
    }

    func run() throws {
        Signals.ignoreFailedWrites()
        let environment = self.environment
        let level = Logger.Level(rawValue: level)!
        let json = format == "json"
        // Opens nothing: the descriptors are counted next.
        LoggingSystem.bootstrap { label in
            var handler: any LogHandler = json
                ? JSONLogHandler(label: label) : StreamLogHandler(label: label, stream: StandardError.Stream())
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "keygate")
        // Why the server cannot start: in JSON logs an entry like every
        // other, for the log shipper; otherwise the text as it is (a
        // catalog's problems, one a line).
        func refusal(_ reason: String) -> ExitCode {
            if json {
                logger.critical("cannot start", metadata: ["reason": "\(reason)"])
            } else {
                StandardError.write("keygate serve cannot start: \(reason)")
            }
            return ExitCode.failure
        }
        // Before anything is applied: a request's reply would have nowhere to go.
        guard !StandardDescriptors.wasClosed(1) else {
            throw refusal("stdout is closed, so replies would have nowhere to go (give it a pipe, a file or /dev/null)")
        }
        guard FileDescriptors.available(FileDescriptors.neededToStart) else {
            throw refusal("fewer than \(FileDescriptors.neededToStart) files can be opened; raise the limit on open files (ulimit -n)")
        }
        DispatchEventLoop.start()
        // First, while nothing else in the process uses SQLite.
        SQLiteProcess.disableMemoryStatistics()
        let wake = Signals.install()

        let catalogURL: URL
        let localizationURL: URL
        do throws(ShippedResources.Missing) {
            catalogURL = try ShippedResources.catalog(named: catalog ?? environment["KEYGATE_CATALOG"])
            localizationURL = try ShippedResources.translations(named: localization ?? environment["KEYGATE_LOCALIZATION"])
        } catch {
            throw refusal("\(error)")
        }
        let databasePath = Database.named(database)
        if let reason = Database.refusal(of: databasePath) { throw refusal(reason) }
        // What logs and messages may show of it: never a password.
        let databaseName = Database.displayName(databasePath)

        // Before connecting: a refused login is as visible in `ps` as an accepted one.
        if let warning = Database.passwordWarning(option: database) { logger.warning("\(warning)") }

        let plans: PlanCatalog
        let localizer: Localizer
        let storage: any KeygateStorage
        do {
            plans = try PlanCatalog.load(contentsOf: catalogURL)
        } catch {
            throw refusal(error.description)
        }
        let postgres: Database.PostgresOptions?
        do {
            localizer = try Localizer.load(directory: localizationURL, logger: logger)
            // Refused rather than answered in the source language: the
            // translations are only known once loaded, so it is checked here.
            if let wanted = locale ?? environment["KEYGATE_LOCALE"],
               let refusal = localizer.refusal(ofLanguage: wanted, givenAs: "--locale (or KEYGATE_LOCALE)")
            {
                throw ValidationError(refusal)
            }
            postgres = PostgresKeyStorage.isURL(databasePath) ? try postgresOptions : nil
            storage = try Database.open(databasePath, rules: KeyRules(catalog: plans), postgres: postgres)
        } catch {
            logger.critical("cannot start", metadata: [
                "reason": "\(StartupFailure.describe(error, database: databaseName))",
            ])
            throw ExitCode.failure
        }

        let cacheCapacity = cacheKeysText.flatMap(Int.init) ?? KeygateService.defaultCacheCapacity
        let service = KeygateService(
            catalog: plans, storage: storage,
            eventClockSkew: clockSkew.flatMap(TimeInterval.init) ?? KeygateService.defaultEventClockSkew,
            cacheCapacity: cacheCapacity)
        let server = RPCServer(
            table: KeygateMethods.table(service: service, localizer: localizer), catalog: plans, localizer: localizer,
            defaultLocale: locale ?? environment["KEYGATE_LOCALE"], logger: logger)
        // The version: which hosts run which, during a rolling upgrade.
        logger.info("serving", metadata: [
            "database": "\(databaseName)", "catalog": "\(catalogURL.path)", "catalogDigest": "\(CatalogDigest.short(plans.digest))",
            "plans": "\(plans.plans.count)", "version": "\(KeygateVersion.current)",
        ])
        // A schema this process created or moved on: a mistyped --database
        // shows as a database just created, an upgrade as its migrations.
        let migration = (storage as? SQLiteKeyStorage)?.openingMigration ?? (storage as? PostgresKeyStorage)?.openingMigration
        switch (migration?.before, migration?.latest) {
        case (.empty, let latest?):
            logger.info("created Keygate's schema in a new database", metadata: ["schema": "\(latest)"])
        case (.behind(let from, _), let latest?):
            logger.info("migrated the database's schema", metadata: ["from": "\(from)", "to": "\(latest)"])
        default:
            break
        }
        // What health.check reports for as long as it lasts: said here, and
        // by the flusher at each sweep when it changes.
        var shortcomings = ShortcomingLog(logger: logger, database: databaseName)
        shortcomings.report(storage.shortcomings)
        let sqlite = storage as? SQLiteKeyStorage
        // What explains this process's behaviour to an operator comparing
        // hosts in `keygate status`: the options that may differ.
        typealias SettingName = KeygateService.SettingName
        let information = [SettingName.cacheKeys: String(cacheCapacity),
                           SettingName.rateLimits: sqlite?.rateLimitsUnavailable == nil ? "shared" : "own"]
            .merging(postgres?.information ?? [:]) { $1 }
        let flusher = UsageFlusher(service: service, logger: logger, events: eventSchedule, sweepEvery: eventSweepSeconds,
                                   statisticsEvery: Int(statisticsText)!,
                                   fileChanges: { sqlite?.takeFileChanges() ?? [] }, catalogSource: catalogURL.path,
                                   usageRetentionDays: usageRetentionText.flatMap(Int.init),
                                   idempotencyRetentionDays: idempotencyRetentionText.flatMap(Int.init),
                                   auditRetentionDays: auditRetentionText.flatMap(Int.init), version: KeygateVersion.current,
                                   information: information, shortcomings: shortcomings)
        flusher.start()
        var output = LineWriter(descriptor: 1)
        var reader = LineReader(descriptor: 0, limit: maxLineBytes, wakeDescriptor: wake)
        // Writes that arrive together commit together; replies go out only
        // after their commit, and all of them before the next read waits.
        var pipeline = RequestPipeline(server: server)
        var readerGone = false
        func emit(_ reply: [UInt8]) {
            if !output.append(reply) { readerGone = true }
        }
        reader.run(shouldStop: { Signals.shouldStop || readerGone }, idle: {
            pipeline.drain(emit)
            if !output.flush() { readerGone = true }
        }) { event in
            switch event {
            case .line(let bytes): pipeline.receive(bytes, emit)
            case .oversized: pipeline.receiveOversizedLine(limit: maxLineBytes, emit)
            }
        }
        flusher.stop(givingUpWhen: { Signals.insists })
        // A reader that left is a normal end; stdout failing otherwise (a
        // full disk, a device error) lost replies, which the operator must hear of.
        if let failure = output.failure, !DescriptorIO.readerLeft(failure) {
            logger.error("cannot write replies to stdout; stopped",
                         metadata: ["reason": "\(String(cString: strerror(failure)))"])
            throw ExitCode.failure
        }
        logger.info("stopped")
    }
}
