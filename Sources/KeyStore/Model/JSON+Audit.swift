import KeygateJSON

extension JSON {
    /// `{"from": old, "to": new}`, how an update records a change.
    static func change(from old: JSON, to new: JSON) -> JSON {
        ["from": old, "to": new]
    }

    static func strings(_ values: [String]) -> JSON {
        .array(values.map(JSON.string))
    }
}
