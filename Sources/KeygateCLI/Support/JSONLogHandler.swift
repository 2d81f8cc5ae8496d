import Foundation
import KeygateJSON
import Logging

/// Writes each log entry to stderr as one line of JSON, for a log shipper
/// to read without parsing text:
///
/// ```json
/// {"time":"2026-12-02T02:16:23.412Z","level":"warning","label":"keygate","source":"KeygateCLI","message":"usage flush failed","metadata":{"reason":"…"}}
/// ```
///
/// Metadata stays under `metadata`, so that no key of it can shadow the
/// entry's own; nested dictionaries and arrays stay JSON objects and arrays.
struct JSONLogHandler: LogHandler {
    let label: String
    var logLevel: Logger.Level = .info
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?

    init(label: String) {
        self.label = label
    }

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { $1 } }
        if let given = event.metadata { merged.merge(given) { $1 } }
        var members: [(key: String, value: JSON)] = [
            ("level", .string(event.level.rawValue)),
            ("label", .string(label)),
            ("source", .string(event.source)),
            ("message", .string(event.message.description)),
        ]
        if !merged.isEmpty { members.append(("metadata", Self.json(.dictionary(merged)))) }
        var writer = JSONWriter()
        writer.raw(#"{"time":""#)
        writer.time(Date())
        writer.raw(UInt8(ascii: "\""))
        for member in members {
            writer.raw(UInt8(ascii: ","))
            writer.string(member.key)
            writer.raw(UInt8(ascii: ":"))
            writer.write(member.value)
        }
        writer.raw("}\n")
        StandardError.write(bytes: writer.bytes)
    }

    private static func json(_ value: Logger.MetadataValue) -> JSON {
        switch value {
        case .string(let text): .string(text)
        case .stringConvertible(let value): .string(value.description)
        case .array(let values): .array(values.map(json))
        case .dictionary(let members): .object(members.sorted { $0.key < $1.key }.map { ($0.key, json($0.value)) })
        }
    }
}
