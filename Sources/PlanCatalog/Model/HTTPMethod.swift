/// The HTTP methods a route table can map.
public enum HTTPMethod: String, Sendable, Hashable, CaseIterable, Codable {
    case get = "GET"
    case head = "HEAD"
    case post = "POST"
    case put = "PUT"
    case patch = "PATCH"
    case delete = "DELETE"
    case options = "OPTIONS"

    /// Reads a method as a gateway sends it, in any ASCII letter case. A
    /// method is ASCII (RFC 9110's token): `uppercased()` alone made
    /// `po\u{17F}t` (LONG S) a `POST` that no router serves.
    public init?(token: some StringProtocol) {
        guard token.utf8.allSatisfy({ $0 < 0x80 }) else { return nil }
        self.init(rawValue: token.uppercased())
    }
}
