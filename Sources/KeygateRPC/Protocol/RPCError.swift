/// An error as it goes on the wire: a JSON-RPC code, a short message, and
/// `data` with the stable string code, the HTTP status a gateway would use,
/// the localized message and, for invalid params, the field at fault.
public struct RPCError: Error, Sendable, Hashable {
    public let code: Int
    public let data: ErrorData

    public struct ErrorData: Sendable, Hashable, Codable {
        public let code: String
        public let httpStatus: Int
        public let message: String
        public let field: String?
    }

    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    /// Domain errors, -32000 to -32099 (see the README).
    public static let notFound = -32001
    public static let forbiddenByPlan = -32002
    public static let conflict = -32003
    public static let unauthorized = -32004
    public static let storageUnavailable = -32005

    var json: JSON {
        var data: [(key: String, value: JSON)] = [
            ("code", .string(self.data.code)),
            ("httpStatus", .number(String(self.data.httpStatus))),
            ("message", .string(self.data.message)),
        ]
        if let field = self.data.field { data.append(("field", .string(field))) }
        return .object([("code", .number(String(code))), ("message", .string(self.data.message)), ("data", .object(data))])
    }
}
