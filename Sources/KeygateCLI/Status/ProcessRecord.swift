import Foundation
import KeyStore
import KeygateService

/// One process's settings, as its rows in ``StoreStatus/processes`` hold
/// them: what `keygate status` lists, a line per process.
struct ProcessRecord {
    struct ID: Hashable {
        let host: String
        let processId: Int32
    }

    let id: ID
    /// Its settings, in order of name.
    let settings: [SettingInUse]

    var host: String { id.host }
    var processId: Int32 { id.processId }
    /// When it last recorded a setting.
    var seenAt: Date { settings.map(\.seenAt).max() ?? .distantPast }
    /// The file its catalog was loaded from.
    var catalogSource: String { settings.first { $0.name == KeygateService.SettingName.catalog }?.source ?? "" }

    /// The value it recorded for the setting `name`, or empty.
    subscript(name: String) -> String {
        settings.first { $0.name == name }?.value ?? ""
    }

    /// The processes `rows` (a row per process and setting) describe, in
    /// order of host and process id.
    static func all(in rows: [SettingInUse]) -> [ProcessRecord] {
        Dictionary(grouping: rows) { ID(host: $0.host, processId: $0.processId) }
            .map { ProcessRecord(id: $0.key, settings: $0.value.sorted { $0.name < $1.name }) }
            .sorted { ($0.host, $0.processId) < ($1.host, $1.processId) }
    }
}
