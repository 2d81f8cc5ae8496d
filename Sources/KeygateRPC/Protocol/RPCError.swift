import KeygateJSON

/// An error as it goes on the wire: a JSON-RPC code, a short message, and
/// `data` with the stable string code, the HTTP status a gateway would use,
/// the localized message and, for invalid params, the field at fault.
public struct RPCError: Error, Sendable, Hashable {
    public let code: Int
    public let data: ErrorData

    public struct ErrorData: Sendable, Hashable {
        public let code: String
        public let httpStatus: Int
        public let message: String
        public let field: String?
        /// For `key_already_created` and `key_already_rotated`: the key
        /// the earlier call made or rotated.
        public let keyId: String?

        init(code: String, httpStatus: Int, message: String, field: String?, keyId: String? = nil) {
            self.code = code
            self.httpStatus = httpStatus
            self.message = message
            self.field = field
            self.keyId = keyId
        }
    }

    /// The same as one result among others (``ImportKeys/Refusal``).
    var refusal: ImportKeys.Refusal {
        ImportKeys.Refusal(code: data.code, httpStatus: data.httpStatus, message: data.message, field: data.field)
    }

    var wire: JSON {
        var data: [(key: String, value: JSON)] = [
            ("code", .string(self.data.code)),
            ("httpStatus", .integer(self.data.httpStatus)),
            ("message", .string(self.data.message)),
        ]
        if let field = self.data.field { data.append(("field", .string(field))) }
        if let keyId = self.data.keyId { data.append(("keyId", .string(keyId))) }
        return ["code": .integer(code), "message": .string(self.data.message), "data": .object(data)]
    }

    /// The schema of `error.data`, published in `rpc.discover`.
    static let dataSchema: JSON = Schema.object([
        ("code", ["type": "string", "description": "Stable, snake_case; see docs/PROTOCOL.md."]),
        ("httpStatus", ["type": "integer"]),
        ("message", ["type": "string", "description": "In the request's language."]),
        ("field", ["type": "string", "description": "For invalid params: the param at fault, such as capabilities[1]."]),
        ("keyId", ["type": "string", "description": "For key_already_created and key_already_rotated: the key the earlier keys.create made or keys.rotate rotated."]),
    ], required: ["code", "httpStatus", "message"])
}
