public import KeygateService
import KeygateJSON
/// The methods a server answers, each registered with its type and handler.
/// Built once, then frozen into an ``RPCServer``; `rpc.discover` is
/// generated from the same entries.
public struct MethodTable: Sendable {
    struct Entry: Sendable {
        let name: String
        let summary: String
        let paramsSchema: @Sendable (SchemaContext) -> JSON
        let resultSchema: @Sendable (SchemaContext) -> JSON
        let errors: [ServiceError.Code]
        /// Decodes the params, runs the handler, writes the result's JSON text.
        let invoke: @Sendable (JSON, RequestContext) throws -> [UInt8]
        /// See ``RPCMethod/writes``.
        let writes: Bool
    }

    /// The service requests run on; write requests that arrive together
    /// run as one unit of work on it (``KeygateService/unitOfWork(_:)``).
    public let service: KeygateService

    private(set) var entries: [Entry] = []

    public init(service: KeygateService) {
        self.service = service
    }

    public mutating func register<Method: RPCMethod>(
        _ method: Method.Type,
        _ handler: @escaping @Sendable (Method.Params, RequestContext) throws -> Method.Result
    ) {
        add(method, handler) { try ParamsDecoder.decode(Method.Params.self, from: $0) }
    }

    /// Registers a method whose params can be read straight from the
    /// request (``DirectParams``), the decoder taking any other shape.
    /// Chosen at compile time: asking at run time whether the params
    /// conform, and casting what they returned, cost about 1,000
    /// instructions a request (callgrind).
    mutating func register<Method: RPCMethod>(
        _ method: Method.Type,
        _ handler: @escaping @Sendable (Method.Params, RequestContext) throws -> Method.Result
    ) where Method.Params: DirectParams {
        add(method, handler) { try Method.Params.direct($0) ?? ParamsDecoder.decode(Method.Params.self, from: $0) }
    }

    private mutating func add<Method: RPCMethod>(
        _ method: Method.Type,
        _ handler: @escaping @Sendable (Method.Params, RequestContext) throws -> Method.Result,
        decode: @escaping @Sendable (JSON) throws -> Method.Params
    ) {
        precondition(!entries.contains { $0.name == Method.name }, "\(Method.name) is registered twice")
        entries.append(Entry(
            name: Method.name,
            summary: Method.summary,
            paramsSchema: { SchemaRecorder.schema(of: Method.Params.self, in: $0) },
            resultSchema: { Method.Result.schema($0) },
            errors: Method.errors,
            invoke: { params, context in
                let result = try handler(try decode(params), context)
                var writer = JSONWriter(capacity: 512)
                result.write(to: &writer)
                return writer.bytes
            },
            writes: Method.writes))
    }

    func entry(named name: String) -> Entry? {
        entries.first { $0.name == name }
    }
}
