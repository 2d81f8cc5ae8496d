import Foundation
import KeyStore
import KeygateRPC
import KeygateService

/// Whether the processes that recorded their settings lately run with the
/// same ones, and what a disagreement means for each setting: what
/// `keygate status` says, as `keygate serve` warns of it in its log; and
/// which single process runs in a way the others cannot make up for.
struct SettingsAgreement {
    /// A setting recorded with more than one value.
    struct Disagreement {
        let name: String
        /// Its values, most recently recorded first.
        let values: [String]

        /// What the disagreement does, in words an operator can act on.
        var consequence: String {
            typealias Name = KeygateService.SettingName
            switch name {
            case Name.catalog:
                return "processes serve with \(values.count) plan catalogs (\(values.map(CatalogDigest.short).joined(separator: ", "))): "
                    + "they answer about plans, keys and quotas differently until every process loads the same file"
            case Name.usageRetention:
                return retentions("keep usage by day", forEvery: "none folds usage while one keeps every day", each: "folds")
            case Name.idempotencyRetention:
                return retentions("remember idempotency keys", forEvery: "none forgets them while one remembers them for good",
                                  each: "forgets")
            case Name.auditRetention:
                return retentions("keep audit entries", forEvery: "none prunes the audit log while one keeps it for good",
                                  each: "prunes")
            case Name.eventRetention:
                let kept = values.map(Name.eventSeconds).max() ?? 0
                return "processes keep events for different times (\(values.map { "\($0) s" }.joined(separator: ", "))): "
                    + "each prunes by the longest, \(Int(kept)) s"
            case Name.sweepInterval:
                return "processes record their settings at different intervals (\(values.map { "\($0) s" }.joined(separator: ", "))): "
                    + "each counts another's for three of that one's intervals; give every process the same --event-sweep-seconds"
            case Name.version:
                return "processes run different versions of keygate (\(values.joined(separator: ", "))): an upgrade is "
                    + "rolling through, or a process was not restarted after one"
            default:
                return "processes record different values of \(name) (\(values.joined(separator: ", ")))"
            }
        }

        /// What differing retentions in days (or `all`) do: `what` the
        /// processes keep, and how they go by the most any keeps: `all`
        /// while one keeps every day, else each `action`s by that many days.
        private func retentions(_ what: String, forEvery all: String, each action: String) -> String {
            let kept = values.map(KeygateService.SettingName.retentionDays).max() ?? 0
            return "processes \(what) for different numbers of days (\(values.joined(separator: ", "))): "
                + (kept == .max ? all : "each \(action) by the most any keeps, \(kept) days")
        }
    }

    /// A process that runs in a way the others cannot make up for: one
    /// that enforces rate limits on its own, or whose clock is off.
    struct Warning {
        let process: ProcessRecord.ID
        let name: String
        let value: String
        /// What it does, in words an operator can act on.
        let consequence: String
    }

    /// Recorded health warnings (``KeygateService/SettingName/healthWarnings``)
    /// in words; a code this version does not know (a later one's) as it is.
    static func describe(_ codes: String) -> String {
        codes.split(separator: ",").map { code in
            switch CheckHealth.Problem(rawValue: String(code)) {
            case .flushFailing?: "its usage counts are not being written, and are lost if it stops (flush_failing)"
            case .lowDiskSpace?: "its database's disk is nearly full (low_disk_space)"
            case .changesPolled?: "it learns of other hosts' changes only by polling, its listening connection down (changes_polled)"
            case .readOnly?: "the database is read-only to it, and every change it is asked for is refused (read_only)"
            case .networkFileSystem?: "its database is on a network file system (network_file_system)"
            case .slowerReads?: "it reads more slowly, a fast read not set up (slower_reads)"
            case .storageFailure?, .rateLimitsOwn?, .clockOff?, nil: String(code)
            }
        }.joined(separator: "; ")
    }

    /// The settings recorded with more than one value, in order of name.
    let disagreements: [Disagreement]
    /// What single processes record that the others cannot make up for,
    /// in order of host and process.
    let warnings: [Warning]

    /// Whether the processes run alike: no disagreement, no warning.
    var isSound: Bool { disagreements.isEmpty && warnings.isEmpty }

    init(_ settings: [SettingInUse], processes: [ProcessRecord]) {
        let rateLimits = KeygateService.SettingName.rateLimits, clockOffset = KeygateService.SettingName.clockOffset
        let healthWarnings = KeygateService.SettingName.healthWarnings
        warnings = processes.flatMap { process in
            let who = "process \(process.processId) on \(process.host)"
            let offset = process[clockOffset]
            let health = process[healthWarnings]
            return [
                process[rateLimits] == "own" ? Warning(process: process.id, name: rateLimits, value: "own", consequence: """
                    \(who) enforces rate limits on its own, the shared state being out of its reach (its log says \
                    why): a key it verifies gets its whole limit there again
                    """) : nil,
                ClockCheck.isOff(milliseconds: offset) ? Warning(process: process.id, name: clockOffset, value: offset, consequence: """
                    \(who) runs \(ClockCheck.text(milliseconds: offset)) off the database server's clock: keys wait \
                    longer on the other hosts or there, and expire and change quota periods early or late there; \
                    synchronize the host's clock (NTP, chrony)
                    """) : nil,
                ["", "none"].contains(health) ? nil : Warning(process: process.id, name: healthWarnings, value: health, consequence: """
                    \(who) warned at its last sweep: \(Self.describe(health)) (its health.check says more, its log why)
                    """),
            ].compactMap { $0 }
        }
        var values: [String: [String]] = [:]
        for setting in settings where !(values[setting.name]?.contains(setting.value) ?? false) {
            values[setting.name, default: []].append(setting.value)
        }
        disagreements = values.filter { $0.value.count > 1 }.sorted { $0.key < $1.key }.map {
            Disagreement(name: $0.key, values: $0.value)
        }
    }
}
