/// The `rpc.discover` answer: an OpenRPC 1.x document of every method the
/// server answers, generated from its method table.
enum OpenRPCDocument {
    static let version = "1.3.2"

    static func generate(from table: MethodTable) -> OpenRPC {
        OpenRPC(
            openrpc: version,
            info: .init(title: "Keygate", version: "1.0.0",
                        description: "Plan-gated API keys: keys, subscriptions, quotas and verification over JSON-RPC 2.0."),
            methods: table.entries.map { entry in
                .init(
                    name: entry.name,
                    summary: entry.summary,
                    paramStructure: "by-name",
                    params: params(of: entry.paramsSchema()),
                    result: .init(name: "result", schema: entry.resultSchema()))
            })
    }

    /// Each member of the params object is a named param, plus the `locale`
    /// every method accepts.
    private static func params(of schema: JSON) -> [OpenRPC.ContentDescriptor] {
        let required: [JSON] = if case .array(let names)? = schema["required"] { names } else { [] }
        var descriptors: [OpenRPC.ContentDescriptor] = []
        if case .object(let properties)? = schema["properties"] {
            for property in properties {
                descriptors.append(.init(
                    name: property.key, schema: property.value, required: required.contains(.string(property.key))))
            }
        }
        descriptors.append(.init(
            name: "locale",
            schema: .object([("type", .string("string")),
                             ("description", .string("Language of messages: a tag (pl, de-AT) or an Accept-Language list."))]),
            required: false))
        return descriptors
    }

}

/// `rpc.discover`: the OpenRPC document of this server.
enum Discover: RPCMethod {
    static let name = "rpc.discover"
    static let summary = "The OpenRPC document of every method this server answers."
    struct Params: Codable, Sendable {}
    typealias Result = OpenRPC
}

/// An OpenRPC document (https://spec.open-rpc.org), the parts Keygate fills in.
struct OpenRPC: Codable, Sendable {
    struct Info: Codable, Sendable {
        let title: String
        let version: String
        let description: String
    }

    struct Method: Codable, Sendable {
        let name: String
        let summary: String
        let paramStructure: String
        let params: [ContentDescriptor]
        let result: ContentDescriptor
    }

    struct ContentDescriptor: Codable, Sendable {
        let name: String
        let schema: JSON
        var required: Bool?
    }

    let openrpc: String
    let info: Info
    let methods: [Method]
}
