public import KeygateService

/// One method of the RPC contract: its name, what it does, the types of its
/// params and result, and the error codes it can answer, from which the
/// OpenRPC document is generated.
///
/// ```swift
/// enum GetKey: RPCMethod {
///     static let name = "keys.get"
///     static let summary = "One key of an organization."
///     static let errors: [ServiceError.Code] = [.invalidOrganizationId, .notFound, .storageFailure]
///     struct Params: Decodable, Sendable { var organizationId: String; var keyId: String }
///     typealias Result = KeyInfo
/// }
/// ```
public protocol RPCMethod {
    associatedtype Params: Decodable & Sendable
    associatedtype Result: WireValue
    static var name: String { get }
    static var summary: String { get }
    /// The service's error codes this method can answer, beyond the
    /// protocol's own (`invalid_params`, `internal_error`).
    static var errors: [ServiceError.Code] { get }
    /// Whether the method only writes to the store (and reads what it
    /// writes): such requests, arriving together, may share one commit.
    static var writes: Bool { get }
}

extension RPCMethod {
    public static var errors: [ServiceError.Code] { [] }
    public static var writes: Bool { false }
}

/// What a handler knows about the request beyond its params.
///
/// A class: a request on its own gets one of the server's, made once per
/// language, rather than a copy of the service (a retain of each of its
/// parts, then a release) per request.
public final class RequestContext: Sendable {
    /// The language chosen for this request's messages.
    public let language: String
    /// The service to run the request on: bound to a unit of work's
    /// transaction when the request is one of several writes committed
    /// together, so it sees what the requests before it wrote.
    public let service: KeygateService

    init(language: String, service: KeygateService) {
        self.language = language
        self.service = service
    }
}
