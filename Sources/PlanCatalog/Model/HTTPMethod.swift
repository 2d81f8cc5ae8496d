/// The HTTP methods a route table can map.
public enum HTTPMethod: String, Sendable, Hashable, CaseIterable, Codable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case put = "PUT"
    case patch = "PATCH"
    case delete = "DELETE"
    case options = "OPTIONS"

    /// Reads a method as a gateway sends it, in any letter case.
    public init?(token: some StringProtocol) {
        self.init(rawValue: token.uppercased())
    }
}
