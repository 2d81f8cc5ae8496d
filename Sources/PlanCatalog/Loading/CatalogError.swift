/// A catalog was refused; ``problems`` lists everything found wrong, in the
/// order of the file, not only the first.
///
/// Problems are found in stages: XML syntax, then the schema, then the rules
/// the schema cannot express. A later stage runs only when the earlier ones
/// found nothing, because its findings on a broken document would be noise.
public struct CatalogError: Error, Sendable, Hashable, CustomStringConvertible {
    public let problems: [CatalogProblem]

    public init(problems: [CatalogProblem]) {
        precondition(!problems.isEmpty, "a refused catalog has at least one problem")
        self.problems = problems
    }

    /// One problem per line.
    public var description: String {
        problems.map(\.description).joined(separator: "\n")
    }
}
