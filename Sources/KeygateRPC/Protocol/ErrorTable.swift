import KeygateService

/// Every error code a caller can receive, with what it means on the wire:
/// its JSON-RPC code, the HTTP status a gateway or dashboard would answer,
/// and the names of the values its message shows. The message itself is
/// `error.<code>` (service codes) or `rpc.<code>` (protocol codes) in the
/// String Catalogs, with variants `….<reason>` and `….no_upgrade`.
///
/// The switches are exhaustive: a code added to ``ServiceError/Code`` or
/// ``ProtocolError`` without a row here does not compile, and a test
/// renders every row's messages in every language with its arguments.
enum ErrorTable {
    struct Row: Sendable, Hashable {
        let rpcCode: Int
        let httpStatus: Int
        /// Every value any of the code's messages may show.
        let arguments: Set<String>
    }

    /// The JSON-RPC codes: the specification's, and Keygate's domain range.
    enum RPCCode {
        static let parseError = -32700
        static let invalidRequest = -32600
        static let methodNotFound = -32601
        static let invalidParams = -32602
        static let internalError = -32603
        /// No such key in this organization.
        static let notFound = -32001
        /// The plan does not allow it.
        static let forbiddenByPlan = -32002
        /// The key's (or the idempotency key's) state forbids it.
        static let conflict = -32003
        /// A key presented to read quotas is not good enough.
        static let unauthorized = -32004
        /// The database failed; nothing was changed.
        static let storageUnavailable = -32005
        /// A limit is used up.
        static let limitReached = -32006
    }

    static func row(_ code: ProtocolError) -> Row {
        switch code {
        case .parseError: Row(rpcCode: RPCCode.parseError, httpStatus: 400, arguments: ["max"])
        case .invalidRequest: Row(rpcCode: RPCCode.invalidRequest, httpStatus: 400, arguments: [])
        case .requestTooLarge: Row(rpcCode: RPCCode.invalidRequest, httpStatus: 413, arguments: ["max"])
        case .methodNotFound: Row(rpcCode: RPCCode.methodNotFound, httpStatus: 404, arguments: ["method"])
        case .invalidParams:
            Row(rpcCode: RPCCode.invalidParams, httpStatus: 400, arguments: ["field", "expected", "allowed", "other"])
        case .internalError: Row(rpcCode: RPCCode.internalError, httpStatus: 500, arguments: [])
        }
    }

    static func row(_ code: ServiceError.Code) -> Row {
        func invalid(_ arguments: Set<String> = []) -> Row {
            Row(rpcCode: RPCCode.invalidParams, httpStatus: 400, arguments: arguments)
        }
        func plan(_ arguments: Set<String>) -> Row {
            Row(rpcCode: RPCCode.forbiddenByPlan, httpStatus: 403, arguments: arguments.union(["planName", "requiredPlanName"]))
        }
        return switch code {
        case .notFound: Row(rpcCode: RPCCode.notFound, httpStatus: 404, arguments: [])
        case .cursorExpired: Row(rpcCode: RPCCode.notFound, httpStatus: 410, arguments: [])
        case .keyRevoked, .keyExpired, .keyConflict: Row(rpcCode: RPCCode.conflict, httpStatus: 409, arguments: [])
        case .eventIdReused, .idempotencyKeyReused: Row(rpcCode: RPCCode.conflict, httpStatus: 409, arguments: ["differs"])
        case .tooManyPreviousSecrets: Row(rpcCode: RPCCode.conflict, httpStatus: 409, arguments: ["max"])
        case .keyAlreadyCreated, .keyAlreadyRotated: Row(rpcCode: RPCCode.conflict, httpStatus: 409, arguments: ["keyId"])
        case .storageFailure: Row(rpcCode: RPCCode.storageUnavailable, httpStatus: 503, arguments: [])
        case .quotaExceeded: Row(rpcCode: RPCCode.limitReached, httpStatus: 429, arguments: ["meterName", "resetsAt"])
        case .invalidKey: Row(rpcCode: RPCCode.unauthorized, httpStatus: 401, arguments: [])
        case .planSuspended: Row(rpcCode: RPCCode.unauthorized, httpStatus: 403, arguments: [])
        case .insufficientCapability: Row(rpcCode: RPCCode.unauthorized, httpStatus: 403, arguments: ["capability"])
        case .planForbidsAPIKeys: plan([])
        case .kindNotAllowed: plan(["kindName"])
        case .capabilityNotAllowed: plan(["capability"])
        case .capabilityNotAllowedForKind:
            Row(rpcCode: RPCCode.forbiddenByPlan, httpStatus: 403, arguments: ["kindName", "capability"])
        case .keyLimitReached: plan(["limit"])
        case .rateLimitAbovePlan: plan(["max"])
        case .lifetimeAbovePlan: plan(["maxDays"])
        case .keySuspended: Row(rpcCode: RPCCode.forbiddenByPlan, httpStatus: 403, arguments: ["planName"])
        case .invalidOrganizationId, .invalidActor, .invalidGracePeriod, .invalidLimit, .invalidEventId,
            .invalidIdempotencyKey, .invalidDateRange, .tooManyOrigins:
            invalid(["max"])
        case .invalidName: invalid(["min", "max", "character"])
        case .unknownKind: invalid(["kind", "kinds"])
        case .invalidCapabilities, .unknownCapability: invalid(["capability"])
        case .unknownEnvironment: invalid(["environment", "allowed"])
        case .invalidRateLimit, .invalidAmount: invalid(["min", "max"])
        case .invalidOrigin: invalid(["origin"])
        case .invalidExpiry, .invalidCursor, .invalidPeriod, .invalidDigest, .unrecognizedKey: invalid()
        case .invalidTimestamp: invalid(["field"])
        case .unknownPlan: invalid(["plan", "plans"])
        case .unknownMeter: invalid(["meter", "meters"])
        case .meterNotRecordable: invalid(["meter"])
        case .eventInFuture: invalid(["seconds"])
        }
    }
}

/// Errors of the protocol itself, before or around a method's own work.
enum ProtocolError: String, CaseIterable, Sendable {
    case parseError = "parse_error"
    case invalidRequest = "invalid_request"
    case requestTooLarge = "request_too_large"
    case methodNotFound = "method_not_found"
    case invalidParams = "invalid_params"
    case internalError = "internal_error"
}
