package import KeygateJSON

extension JSON {
    /// `{"from": old, "to": new}`, how an update records a change.
    package static func change(from old: JSON, to new: JSON) -> JSON {
        ["from": old, "to": new]
    }

    package static func strings(_ values: [String]) -> JSON {
        .array(values.map(JSON.string))
    }
}
