import KeygateJSON

extension Array<String> {
    /// Whether the names hold `name` spelled byte for byte as given. The
    /// catalog's names are compared as the databases and every client
    /// compare them: `contains` holds canonically equivalent texts equal,
    /// and took `"apiKeys.read"` with U+212A KELVIN SIGN for its K for the
    /// catalog's capability, which was then stored and returned in a
    /// spelling no client's `==` matched.
    package func contains(exactly name: String) -> Bool {
        contains { $0.isSameText(as: name) }
    }
}

extension Set<String> {
    /// Whether the set holds `name` spelled byte for byte as given (see
    /// ``Swift/Array/contains(exactly:)``), by one hashed look-up: a
    /// set cannot hold two canonically equivalent names, so the one it
    /// finds is the only candidate.
    package func contains(exactly name: String) -> Bool {
        firstIndex(of: name).map { self[$0].isSameText(as: name) } ?? false
    }
}
