import Foundation
import KeyStore
import KeygateService
import Logging

/// What `keygate serve` says of the settings other processes on its
/// database recorded (``KeygateService/recordSettings(_:host:processId:within:)``):
/// a different catalog, a longer usage, idempotency, audit or event retention, and a longer
/// sweep interval, as warnings (the first answers differently; the
/// retentions change what this process folds and prunes, the interval how
/// far back it looks); another version of keygate, as information (an
/// upgrade expects it). Each such value once while it stays in use, and
/// when none of a setting's is in use any more.
struct SettingsLog {
    private let logger: Logger
    /// The other processes' values said so far (name and value), while they are in use.
    private var said: Set<[String]> = []

    init(logger: Logger) {
        self.logger = logger
    }

    /// Says what `inUse` holds that was not said before, and what ended,
    /// for a process that runs with `mine` and the catalog `catalogDigest`.
    mutating func report(_ inUse: KeygateService.SettingsInUse, mine: KeygateService.ProcessSettings,
                         catalogDigest: String) {
        let digest = CatalogDigest.short(catalogDigest)
        var logged: Set<[String]> = []
        func once(_ other: SettingInUse, _ log: () -> Void) {
            logged.insert([other.name, other.value])
            if !said.contains([other.name, other.value]) { log() }
        }
        for other in inUse.otherCatalogs {
            once(other) {
                logger.warning("""
                    another process on this database serves with a different plan catalog: the two answer about plans, \
                    keys and quotas differently until every process loads the same file
                    """, metadata: [
                        "catalogDigest": "\(digest)", "otherCatalog": "\(other.source)",
                        "otherCatalogDigest": "\(CatalogDigest.short(other.value))", "otherHost": "\(other.host)",
                        "otherProcess": "\(other.processId)",
                    ])
            }
        }
        // Only a longer retention changes what this process does: each
        // another keeps longer, named with this process's own.
        func warn(of longer: [SettingInUse], _ what: String, mine: (key: String, value: String), as other: String,
                  value: (SettingInUse) -> String = { $0.value }) {
            for setting in longer {
                once(setting) {
                    logger.warning("""
                        another process on this database \(what), whatever this one is given, until every process is \
                        given the same
                        """, metadata: [
                            mine.key: "\(mine.value)", other: "\(value(setting))", "otherHost": "\(setting.host)",
                            "otherProcess": "\(setting.processId)",
                        ])
                }
            }
        }
        warn(of: inUse.longerUsageRetentions, "keeps more days of usage by day: folding keeps the most any process keeps",
             mine: ("usageRetentionDays", "\(mine.usageRetentionDays ?? 0)"), as: "otherUsageRetentionDays")
        warn(of: inUse.longerIdempotencyRetentions,
             "remembers idempotency keys longer: forgetting keeps them as long as any process keeps them",
             mine: ("idempotencyRetentionDays", "\(mine.idempotencyRetentionDays ?? 0)"), as: "otherIdempotencyRetentionDays")
        warn(of: inUse.longerAuditRetentions, "keeps audit entries longer: pruning keeps them as long as any process keeps them",
             mine: ("auditRetentionDays", "\(mine.auditRetentionDays ?? 0)"), as: "otherAuditRetentionDays")
        warn(of: inUse.longerEventRetentions, "keeps events longer: pruning keeps them as long as any process keeps them",
             mine: ("eventRetentionDays", Self.days(mine.eventRetention)), as: "otherEventRetentionDays",
             value: { Self.days(TimeInterval($0.value) ?? 0) })
        // Taken care of (the look-back widens), but status, the logs and
        // the operator's runbook all assume one interval.
        for other in inUse.otherSweepIntervals where (Int(other.value) ?? 0) > (mine.sweepInterval ?? .max) {
            once(other) {
                logger.warning("""
                    another process on this database records its settings less often: this one counts what that one \
                    records for three of its sweeps, until every process is given the same --event-sweep-seconds
                    """, metadata: [
                        "eventSweepSeconds": "\(mine.sweepInterval ?? 0)", "otherEventSweepSeconds": "\(other.value)",
                        "lookBackSeconds": "\(Int(inUse.lookBack))", "otherHost": "\(other.host)",
                        "otherProcess": "\(other.processId)",
                    ])
            }
        }
        // Expected while an upgrade rolls through: said, not warned of.
        for other in inUse.otherVersions {
            once(other) {
                logger.info("another process on this database runs another version of keygate", metadata: [
                    "version": "\(mine.version ?? "")", "otherVersion": "\(other.value)",
                    "otherHost": "\(other.host)", "otherProcess": "\(other.processId)",
                ])
            }
        }
        let names = { (values: Set<[String]>) in Set(values.map { $0[0] }) }
        let ended = names(said).subtracting(names(logged))
        if ended.contains(KeygateService.SettingName.catalog) {
            logger.notice("every process on this database that recorded its plan catalog lately serves with this one",
                          metadata: ["catalogDigest": "\(digest)"])
        }
        if ended.contains(KeygateService.SettingName.usageRetention) {
            logger.notice("no process on this database that recorded its settings lately keeps usage by day longer than this one")
        }
        if ended.contains(KeygateService.SettingName.idempotencyRetention) {
            logger.notice("no process on this database that recorded its settings lately remembers idempotency keys longer than this one")
        }
        if ended.contains(KeygateService.SettingName.auditRetention) {
            logger.notice("no process on this database that recorded its settings lately keeps audit entries longer than this one")
        }
        if ended.contains(KeygateService.SettingName.version) {
            logger.info("every process on this database that recorded its settings lately runs this version of keygate",
                        metadata: ["version": "\(mine.version ?? "")"])
        }
        if ended.contains(KeygateService.SettingName.sweepInterval) {
            logger.notice("no process on this database that recorded its settings lately records them less often than this one")
        }
        if ended.contains(KeygateService.SettingName.eventRetention) {
            logger.notice("no process on this database that recorded its settings lately keeps events longer than this one")
        }
        said = logged
    }

    /// A retention in days, as an operator gave it.
    private static func days(_ retention: TimeInterval) -> String {
        String(format: "%g", retention / 86_400)
    }
}
