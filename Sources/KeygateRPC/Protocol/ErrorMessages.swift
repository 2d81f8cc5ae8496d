import Foundation
import KeyStore
import KeygateLocalization
import KeygateService
import PlanCatalog

/// The one place where errors become what a caller reads: a JSON-RPC code,
/// an HTTP status and a message in the caller's language.
struct ErrorMessages: Sendable {
    let localizer: Localizer
    let catalog: PlanCatalog

    func protocolError(_ code: Int, _ name: String, variant: String? = nil, field: String? = nil,
                       _ arguments: [String: MessageArgument] = [:], language: String) -> RPCError {
        let key = variant.map { "rpc.\(name).\($0)" }.flatMap { localizer.contains($0) ? $0 : nil } ?? "rpc.\(name)"
        let status = switch code {
        case RPCError.methodNotFound: 404
        case RPCError.internalError: 500
        default: 400
        }
        return RPCError(code: code, data: .init(
            code: name, httpStatus: status, message: localizer.string(key, arguments, language: language), field: field))
    }

    func params(_ error: ParamsError, language: String) -> RPCError {
        let (variant, arguments): (String, [String: MessageArgument]) = switch error.kind {
        case .missing: ("missing", ["field": .text(error.field)])
        case .type(let expected): ("type", ["field": .text(error.field), "expected": .message("rpc.type.\(expected)")])
        case .unknown: ("unknown", ["field": .text(error.field)])
        case .value: ("value", ["field": .text(error.field)])
        }
        return protocolError(RPCError.invalidParams, "invalid_params", variant: variant, field: error.field, arguments,
                             language: language)
    }

    func service(_ error: ServiceError, language: String) -> RPCError {
        let code = error.code.rawValue
        var candidates: [String] = []
        if let reason = error.parameters["reason"] { candidates.append("error.\(code).\(reason)") }
        if error.parameters["requiredPlan"] == nil { candidates.append("error.\(code).no_upgrade") }
        candidates.append("error.\(code)")
        let key = candidates.first(where: localizer.contains) ?? "error.\(code)"
        let message = localizer.string(key, arguments(error.parameters), language: language)
        return RPCError(code: rpcCode(error), data: .init(
            code: code, httpStatus: rpcCode(error) == RPCError.invalidParams ? 400 : error.httpStatus,
            message: message, field: error.field))
    }

    func verification(_ result: VerifyResult, language: String) -> String {
        var arguments: [String: MessageArgument] = [:]
        if let capability = result.capability { arguments["capability"] = .text(capability) }
        if let origin = result.origin { arguments["origin"] = .text(origin) }
        if let retryAfter = result.retryAfter { arguments["seconds"] = .number(retryAfter) }
        if let quota = result.quota {
            arguments["meterName"] = .text(meterName(quota.meter.rawValue, language: language))
            if let resetsAt = quota.resetsAt { arguments["resetsAt"] = .date(resetsAt) }
        }
        var key = "verify.\(result.outcome.rawValue)"
        if result.noRoute { key += ".no_route" }
        if result.outcome == .quotaExceeded, result.quota?.resetsAt == nil { key += ".never" }
        return localizer.string(key, arguments, language: language)
    }

    /// Values named `…Name` are message keys (a plan's name); whole numbers
    /// are numbers, so plurals and digit grouping follow the language.
    private func arguments(_ parameters: [String: String]) -> [String: MessageArgument] {
        parameters.reduce(into: [:]) { arguments, parameter in
            arguments[parameter.key] = if parameter.key.hasSuffix("Name") {
                .message(parameter.value)
            } else if let number = Int(parameter.value) {
                .number(number)
            } else {
                .text(parameter.value)
            }
        }
    }

    private func meterName(_ meter: String, language: String) -> String {
        catalog.meter(MeterID(meter)).map { localizer.string($0.nameKey, language: language) } ?? meter
    }

    /// Validation failures are invalid params; the rest keep their domain code.
    private func rpcCode(_ error: ServiceError) -> Int {
        switch error.code {
        case .notFound: RPCError.notFound
        case .planForbidsAPIKeys, .kindNotAllowed, .capabilityNotAllowed, .capabilityNotAllowedForKind,
            .keyLimitReached, .rateLimitAbovePlan, .lifetimeAbovePlan, .keySuspended:
            RPCError.forbiddenByPlan
        case .keyRevoked, .keyExpired, .idempotencyKeyReused: RPCError.conflict
        case .invalidKey, .insufficientCapability: RPCError.unauthorized
        case .storageFailure: RPCError.storageUnavailable
        default: RPCError.invalidParams
        }
    }
}
