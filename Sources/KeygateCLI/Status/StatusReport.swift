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
        guard let settings = status.settings else {
            return output + "\nThis schema records no settings; processes of this keygate record theirs once it is migrated.\n"
        }
        guard !settings.isEmpty else {
            return output + "\nNo process recorded its settings in the last \(within) s.\n"
        }
        let processes = ProcessRecord.all(in: status.processes ?? [])
        if !processes.isEmpty {
            typealias Name = KeygateService.SettingName
            var table = TextTable(header: ["host", "process", "recorded", "version", "catalog", "usage days", "events kept",
                                           "catalog file"])
            for process in processes {
                table.add(process.host, String(process.processId), ago(process.seenAt), process[Name.version],
                          CatalogDigest.short(process[Name.catalog]), process[Name.usageRetention],
                          process[Name.eventRetention].isEmpty ? "" : process[Name.eventRetention] + " s",
                          process.catalogSource)
            }
            output += "\n" + table.rendered
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
        guard !agreement.disagreements.isEmpty else {
            return output + "Every process that recorded its settings in the last \(within) s runs with the same ones.\n"
        }
        return output + agreement.disagreements.map { "- \($0.consequence)\n" }.joined()
    }

    private var schemaText: String {
        switch status.schema {
        case .empty:
            "none yet: the first keygate to open the database creates it"
        case .current(let latest):
            "\(latest) (this keygate's latest)"
        case .behind(let latest, let pending):
            "\(latest); this keygate applies \(pending.count) more when it opens it: \(pending.joined(separator: ", "))"
        case .ahead(let unknown):
            "migrated by a newer keygate (\(unknown.joined(separator: ", "))): this one refuses to open it"
        }
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
            ("within", .integer(within)), ("processes", processes), ("settings", settings),
            ("disagreements", .array(agreement.disagreements.map { disagreement in
                .object([
                    ("name", .string(disagreement.name)), ("values", .array(disagreement.values.map(JSON.string))),
                    ("consequence", .string(disagreement.consequence)),
                ])
            })),
        ])
    }
}
