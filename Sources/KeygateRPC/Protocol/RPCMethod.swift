/// One method of the RPC contract: its name, what it does, and the types of
/// its params and result, from which the OpenRPC document is generated.
///
/// ```swift
/// enum GetKey: RPCMethod {
///     static let name = "keys.get"
///     static let summary = "One key of an organization."
///     struct Params: Codable, Sendable { var organizationId: String; var keyId: String }
///     typealias Result = KeyInfo
/// }
/// ```
public protocol RPCMethod {
    associatedtype Params: Codable & Sendable
    associatedtype Result: Codable & Sendable
    static var name: String { get }
    static var summary: String { get }
    /// Whether the method only writes to the store (and reads what it
    /// writes): such requests, arriving together, may share one commit.
    static var writes: Bool { get }
}

extension RPCMethod {
    public static var writes: Bool { false }
}

/// What a handler knows about the request beyond its params.
public struct RequestContext: Sendable {
    /// The language chosen for this request's messages.
    public let language: String
}
