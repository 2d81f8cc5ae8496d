/// An element of a parsed catalog, copied out of libxml2's tree so that the
/// catalog's rules are checked on plain values.
struct XMLElementNode: Sendable {
    /// The local name; the schema has already checked the namespace.
    let name: String
    let attributes: [String: String]
    let children: [XMLElementNode]
    let line: Int

    subscript(attribute name: String) -> String? {
        attributes[name]
    }

    func children(named name: String) -> [XMLElementNode] {
        children.filter { $0.name == name }
    }

    func child(named name: String) -> XMLElementNode? {
        children.first { $0.name == name }
    }
}
