package import KeygateJSON

/// What an update changed, each field from what to what, in the order
/// `keys.update` takes them: once, for the audit entry and the event.
package struct KeyChangeDetails {
    private var changes: [(field: String, change: JSON)] = []

    package var isEmpty: Bool { changes.isEmpty }

    mutating func add(_ field: String, from old: JSON, to new: JSON) {
        changes.append((field, .change(from: old, to: new)))
    }

    /// As the audit log keeps them.
    package var audit: [String: JSON] {
        Dictionary(uniqueKeysWithValues: changes.map { ($0.field, $0.change) })
    }

    /// As `key.updated` carries them, in order.
    package var event: JSON {
        .object(changes.map { ($0.field, $0.change) })
    }
}
