import KeygateJSON
import KeygateService

/// The `rpc.discover` answer: an OpenRPC 1.3 document of every method the
/// server answers, generated from its method table: params from their
/// `Decodable` types, results from their wire declarations, and the errors
/// each method can answer from the ``ErrorTable``.
enum OpenRPCDocument {
    static let version = "1.3.2"

    static func generate(from table: MethodTable, context: SchemaContext) -> JSON {
        [
            "openrpc": .string(version),
            "info": [
                "title": "Keygate", "version": .string(KeygateVersion.current),
                "description": "Plan-gated API keys: keys, subscriptions, quotas and verification over JSON-RPC 2.0. Every error's data follows components.schemas.ErrorData; a request that is not JSON or not a request is answered with parse_error (-32700), invalid_request (-32600) or request_too_large (-32600), an unknown method with method_not_found (-32601).",
            ],
            "methods": .array(table.entries.map { entry in
                [
                    "name": .string(entry.name),
                    "summary": .string(entry.summary),
                    "paramStructure": "by-name",
                    "params": .array(params(of: entry.paramsSchema(context))),
                    "result": ["name": "result", "schema": entry.resultSchema(context)],
                    "errors": .array(errors(entry.errors)),
                ]
            }),
            "components": ["schemas": ["ErrorData": RPCError.dataSchema]],
        ]
    }

    /// Each member of the params object is a named param, plus the `locale`
    /// every method accepts.
    private static func params(of schema: JSON) -> [JSON] {
        let required: [JSON] = if case .array(let names)? = schema["required"] { names } else { [] }
        var descriptors: [JSON] = []
        if case .object(let properties)? = schema["properties"] {
            for property in properties {
                descriptors.append([
                    "name": .string(property.key), "schema": property.value,
                    "required": .bool(required.contains(.string(property.key))),
                ])
            }
        }
        descriptors.append([
            "name": "locale",
            "schema": ["type": ["string", "null"], "description": "Language of messages: a tag (pl, de-AT) or an Accept-Language list."],
            "required": false,
        ])
        return descriptors
    }

    /// Every error a method can answer: its own codes and the protocol's
    /// (invalid params, internal error), each with its stable `data.code`.
    private static func errors(_ codes: [ServiceError.Code]) -> [JSON] {
        let own = codes.map { (code: $0.rawValue, row: ErrorTable.row($0)) }
        let common = [ProtocolError.invalidParams, .internalError].map { (code: $0.rawValue, row: ErrorTable.row($0)) }
        return (own + common).map { error in
            [
                "code": .integer(error.row.rpcCode),
                "message": .string(error.code),
                "data": ["code": .string(error.code), "httpStatus": .integer(error.row.httpStatus)],
            ]
        }
    }
}

/// `rpc.discover`: the OpenRPC document of this server.
enum Discover: RPCMethod {
    static let name = "rpc.discover"
    static let summary = "The OpenRPC document of every method this server answers."
    struct Params: Decodable, Sendable {}
    typealias Result = JSON
}
