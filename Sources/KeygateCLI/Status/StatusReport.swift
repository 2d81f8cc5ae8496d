import Foundation
import KeyStore
import KeygateJSON
import KeygateService

/// What `keygate status` prints: a table for a person, or one JSON object
/// for a pipeline.
struct StatusReport {
    let database: String
    /// `sqlite` or `postgresql`.
    let backend: String
    let status: StoreStatus
    let agreement: SettingsAgreement
    /// The window, in seconds.
    let within: Int
    let now: Date

    var text: String {
        var output = """
            database   \(database) (\(backend == "sqlite" ? "SQLite" : "PostgreSQL"))
            schema     \(schemaText)
            keys       \(status.keys) in \(status.organizations) organization\(status.organizations == 1 ? "" : "s")

            """
        if !status.remembered.isEmpty {
            output += "remembered \(status.remembered.map(Self.text).joined(separator: ", ")) (for their retries)\n"
        }
        if status.schema != .empty {
            let log = status.auditLog
            output += "audit log  \(Self.counted(log.entries, more: log.more, "entry", "entries"))"
                + "\(log.firstAt.map { ", the first written \(RFC3339.string($0))" } ?? "")\n"
        }
        guard let settings = status.settings else {
            return output + "\nThis schema records no settings; processes of this keygate record theirs once it is migrated.\n"
        }
        guard !settings.isEmpty else {
            return output + "\nNo process recorded its settings in the last \(within) s.\n"
        }
        let processes = ProcessRecord.all(in: status.processes ?? [])
        if !processes.isEmpty {
            typealias Name = KeygateService.SettingName
            var table = TextTable(header: ["host", "process", "recorded", "version", "catalog", "usage days",
                                           "idempotency days", "audit days", "events kept", "catalog file"])
            for process in processes {
                table.add(process.host, String(process.processId), ago(process.seenAt), process[Name.version],
                          CatalogDigest.short(process[Name.catalog]), process[Name.usageRetention],
                          process[Name.idempotencyRetention], process[Name.auditRetention],
                          process[Name.eventRetention].isEmpty ? "" : process[Name.eventRetention] + " s",
                          process.catalogSource)
            }
            output += "\n" + table.rendered
            output += optionsTable(processes)
        }
        // Values recorded by processes that keep no row of their own: a keygate of schema v17 (PostgreSQL 15).
        let listed = Set(processes.map(\.id))
        let unlisted = settings.filter { !listed.contains(ProcessRecord.ID(host: $0.host, processId: $0.processId)) }
        if !unlisted.isEmpty {
            var table = TextTable(header: ["setting", "value", "host", "process", "recorded", "source"])
            for setting in unlisted.sorted(by: { ($0.name, $1.seenAt) < ($1.name, $0.seenAt) }) {
                let value = setting.name == KeygateService.SettingName.catalog ? CatalogDigest.short(setting.value) : setting.value
                table.add(setting.name, value, setting.host, String(setting.processId), ago(setting.seenAt), setting.source)
            }
            if !processes.isEmpty { output += "\nRecorded by processes of an earlier keygate, each value with the last to record it:\n" }
            output += "\n" + table.rendered
        }
        output += "\n"
        if agreement.disagreements.isEmpty {
            output += "Every process that recorded its settings in the last \(within) s runs with the same ones.\n"
        }
        return output + (agreement.disagreements.map(\.consequence) + agreement.warnings.map(\.consequence))
            .map { "- \($0)\n" }.joined()
    }

    /// The options each process records that may differ between processes
    /// (``KeygateService/ProcessSettings/information``, and its sweep
    /// interval), a line per process; empty when none recorded any.
    private func optionsTable(_ processes: [ProcessRecord]) -> String {
        typealias Name = KeygateService.SettingName
        // Only what some process recorded: the PostgreSQL options are not SQLite's.
        let columns = [(Name.sweepInterval, "sweep"), (Name.cacheKeys, "cache keys"), (Name.rateLimits, "rate limits"),
                       (Name.freshness, "freshness"), (Name.rateLimitOutage, "rate-limit outage"),
                       (Name.poolMode, "pool mode"), (Name.clockOffset, "clock"), (Name.healthWarnings, "health warnings")].filter { column in processes.contains { !$0[column.0].isEmpty } }
        guard !columns.isEmpty else { return "" }
        var table = TextTable(header: ["host", "process"] + columns.map(\.1))
        for process in processes {
            table.add([process.host, String(process.processId)] + columns.map { name, _ in
                let value = process[name]
                guard !value.isEmpty else { return value }
                return switch name {
                case Name.sweepInterval: value + " s"
                case Name.clockOffset: ClockCheck.text(milliseconds: value)
                default: value
                }
            })
        }
        return "\n" + table.rendered
    }

    private var schemaText: String {
        switch status.schema {
        case .empty:
            "none yet: the first keygate to open the database creates it, or keygate migrate"
        case .current(let latest):
            "\(latest) (this keygate's latest)"
        case .behind(let latest, let pending):
            "\(latest); this keygate applies \(pending.count) more when it opens it or keygate migrate runs: \(pending.joined(separator: ", "))"
        case .ahead(let unknown):
            "migrated by a newer keygate (\(unknown.joined(separator: ", "))): this one refuses to open it"
        }
    }

    /// "12 uses", "more than 1000000 billing events".
    private static func text(_ count: RememberedCount) -> String {
        let noun = switch count.calls {
        case .uses: "use"
        case .billingEvents: "billing event"
        case .creations: "creation"
        case .rotations: "rotation"
        }
        return counted(count.rows, more: count.more, noun, noun + "s")
    }

    /// A count that may have stopped at its bound: "1 entry", "2 entries",
    /// "more than 1000000 entries".
    private static func counted(_ count: Int, more: Bool, _ one: String, _ many: String) -> String {
        "\(more ? "more than " : "")\(count) \(count == 1 && !more ? one : many)"
    }

    private func ago(_ date: Date) -> String {
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        return seconds < 120 ? "\(seconds) s ago" : "\(seconds / 60) min ago"
    }

    var json: JSON {
        let schema: [(key: String, value: JSON)]
        switch status.schema {
        case .empty: schema = [("state", .string("empty"))]
        case .current(let latest): schema = [("state", .string("current")), ("latest", .string(latest))]
        case .behind(let latest, let pending):
            schema = [("state", .string("behind")), ("latest", .string(latest)), ("pending", .array(pending.map(JSON.string)))]
        case .ahead(let unknown): schema = [("state", .string("ahead")), ("unknown", .array(unknown.map(JSON.string)))]
        }
        let settings: JSON = status.settings.map { settings in
            .array(settings.map { setting in
                .object([
                    ("name", .string(setting.name)), ("value", .string(setting.value)), ("source", .string(setting.source)),
                    ("host", .string(setting.host)), ("processId", .integer(setting.processId)),
                    ("seenAt", .string(RFC3339.string(setting.seenAt))),
                ])
            })
        } ?? .null
        let processes: JSON = status.processes.map { rows in
            .array(ProcessRecord.all(in: rows).map { process in
                .object([
                    ("host", .string(process.host)), ("processId", .integer(process.processId)),
                    ("seenAt", .string(RFC3339.string(process.seenAt))),
                    ("settings", .object(process.settings.map { ($0.name, .string($0.value)) })),
                    ("catalogSource", .string(process.catalogSource)),
                ])
            })
        } ?? .null
        return .object([
            ("database", .string(database)), ("backend", .string(backend)), ("schema", .object(schema)),
            ("keys", .integer(status.keys)), ("organizations", .integer(status.organizations)),
            ("remembered", .object(status.remembered.map { count in
                (count.calls.rawValue, .object([("rows", .integer(count.rows)), ("more", .bool(count.more))]))
            })),
            ("auditLog", .object([
                ("entries", .integer(status.auditLog.entries)), ("more", .bool(status.auditLog.more)),
                ("firstAt", status.auditLog.firstAt.map { .string(RFC3339.string($0)) } ?? .null),
            ])),
            ("within", .integer(within)), ("processes", processes), ("settings", settings),
            ("disagreements", .array(agreement.disagreements.map { disagreement in
                .object([
                    ("name", .string(disagreement.name)), ("values", .array(disagreement.values.map(JSON.string))),
                    ("consequence", .string(disagreement.consequence)),
                ])
            })),
            ("warnings", .array(agreement.warnings.map { warning in
                .object([
                    ("host", .string(warning.process.host)), ("processId", .integer(warning.process.processId)),
                    ("name", .string(warning.name)), ("value", .string(warning.value)),
                    ("consequence", .string(warning.consequence)),
                ])
            })),
        ])
    }
}
