import KeygateJSON

/// The object members each decoded object's type asked for.
final class KeyTracker {
    /// Asked for at the top level, where nearly every member is: a method
    /// has a handful of params, and a short list beats building a path and
    /// hashing on every member read.
    private var topLevel: [String] = []
    private var nested: [String: Set<String>] = [:]

    func mark(_ key: String, at path: [any CodingKey]) {
        if path.isEmpty {
            if !topLevel.contains(key) { topLevel.append(key) }
        } else {
            nested[ParamsDecoder.path(path), default: []].insert(key)
        }
    }

    private func isKnown(_ key: String, at path: String) -> Bool {
        path.isEmpty ? topLevel.contains { $0.isSameText(as: key) }
            : nested[path]?.contains { $0.isSameText(as: key) } == true
    }

    /// The first member, depth first, that no type asked for, and the path
    /// of the object holding it.
    func firstUnknown(in json: JSON, at path: String = "") -> (parent: String, member: String)? {
        switch json {
        case .object(let members):
            for member in members {
                if !isKnown(member.key, at: path) { return (path, member.key) }
                let memberPath = path.isEmpty ? member.key : "\(path).\(member.key)"
                if let unknown = firstUnknown(in: member.value, at: memberPath) { return unknown }
            }
        case .array(let elements):
            for (index, element) in elements.enumerated() {
                if let unknown = firstUnknown(in: element, at: "\(path)[\(index)]") { return unknown }
            }
        default:
            break
        }
        return nil
    }
}
