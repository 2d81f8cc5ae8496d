package import KeygateJSON

extension JSON {
    /// `{"from": old, "to": new}`, how an update records a change.
    package static func change(from old: JSON, to new: JSON) -> JSON {
        ["from": old, "to": new]
    }

    package static func strings(_ values: [String]) -> JSON {
        .array(values.map(JSON.string))
    }

    /// The audit log's details as stored: members in name order.
    package static func auditText(_ details: [String: JSON]) -> String {
        JSON.object(details.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }).text
    }
}
