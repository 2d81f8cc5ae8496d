/// One thing wrong with a catalog, where it is: `path:line:column: message`.
public struct CatalogProblem: Sendable, Hashable, CustomStringConvertible {
    /// The catalog's path as it was given.
    public let file: String
    /// 1-based; `nil` for problems of the whole file (unreadable, too large).
    public let line: Int?
    /// 1-based; only where libxml2 reports one (syntax errors).
    public let column: Int?
    /// What is wrong, in words for the catalog's author.
    public let message: String

    public init(file: String, line: Int?, column: Int? = nil, message: String) {
        self.file = file
        self.line = line
        self.column = column
        self.message = message
    }

    public var description: String {
        switch (line, column) {
        case (let line?, let column?): "\(file):\(line):\(column): \(message)"
        case (let line?, nil): "\(file):\(line): \(message)"
        default: "\(file): \(message)"
        }
    }
}
