import Foundation
import KeyStore
import KeygateJSON
import KeygateLocalization
import KeygateService
import Logging
import PlanCatalog

/// The one place where errors become what a caller reads: each code's row
/// of the ``ErrorTable`` and its message in the caller's language.
struct ErrorMessages: Sendable {
    let localizer: Localizer
    let catalog: PlanCatalog
    let logger: Logger

    func error(_ code: ProtocolError, variant: String? = nil, field: String? = nil,
               _ arguments: [String: MessageArgument] = [:], language: String) -> RPCError {
        let row = ErrorTable.row(code)
        let key = "rpc.\(code.rawValue)"
        return RPCError(code: row.rpcCode, data: .init(
            code: code.rawValue, httpStatus: row.httpStatus,
            message: message(key, variants: [variant], arguments, language: language), field: field))
    }

    /// Why a line is not JSON Keygate reads, saying which rule it broke.
    func parse(_ failure: JSONParser.Failure, language: String) -> RPCError {
        let variant: String? = switch failure {
        case .invalidUTF8: "utf8"
        case .loneSurrogate: "lone_surrogate"
        case .tooDeep: "too_deep"
        case .numberTooLong: "long_number"
        case .syntax: nil
        }
        let arguments: [String: MessageArgument] =
            ["max": .number(failure == .numberTooLong ? JSONParser.maximumNumberLength : JSONParser.maximumDepth)]
        return error(.parseError, variant: variant, arguments, language: language)
    }

    func params(_ error: ParamsError, language: String) -> RPCError {
        var field = error.field
        var arguments: [String: MessageArgument] = [:]
        let variant: String
        switch error.kind {
        case .missing: variant = "missing"
        case .type(let expected):
            variant = "type"
            arguments["expected"] = .message("rpc.type.\(expected)")
        case .unknown(let member):
            variant = "unknown"
            // The one field name that is the caller's text: a key sent as a
            // member's name comes back as its hint, and nothing comes back long.
            let shown = KeyFormat(catalog: catalog).redacted(member)
            field = field.isEmpty ? shown : "\(field).\(shown)"
        case .value: variant = "value"
        case .empty: variant = "empty"
        case .oneOf(let allowed):
            variant = "one_of"
            arguments["allowed"] = .text(allowed.joined(separator: ", "))
        case .exclusive(let other):
            variant = "exclusive"
            arguments["other"] = .text(other)
        case .requires(let other):
            variant = "requires"
            arguments["other"] = .text(other)
        case .missingEither(let other):
            variant = "missing_either"
            arguments["other"] = .text(other)
        }
        arguments["field"] = .text(field)
        return self.error(.invalidParams, variant: variant, field: field, arguments, language: language)
    }

    func service(_ error: ServiceError, language: String) -> RPCError {
        let row = ErrorTable.row(error.code)
        let key = "error.\(error.code.rawValue)"
        let variants = [error.parameters["reason"], error.parameters["requiredPlan"] == nil ? "no_upgrade" : nil]
        return RPCError(code: row.rpcCode, data: .init(
            code: error.code.rawValue, httpStatus: row.httpStatus,
            message: message(key, variants: variants, arguments(error.parameters), language: language),
            field: error.field, keyId: [.keyAlreadyCreated, .keyAlreadyRotated].contains(error.code) ? error.parameters["keyId"] : nil))
    }

    func verification(_ result: VerifyResult, language: String) -> String {
        var key = Self.verificationKeys[result.outcome]!
        if result.noRoute { key += ".no_route" }
        if result.outcome == .originNotAllowed, result.origin == nil { key += ".missing" }
        if result.outcome == .quotaExceeded, result.quota?.resetsAt == nil { key += ".never" }
        // Sent with every answer, and most answers' messages show no values:
        // those are gathered (a meter's name takes two lookups) only for a
        // message that shows them.
        return localizer.string(key, language: language) {
            var arguments: [String: MessageArgument] = [:]
            if let capability = result.capability { arguments["capability"] = .text(capability) }
            if let origin = result.origin { arguments["origin"] = .text(origin) }
            if let method = result.method { arguments["method"] = .text(method) }
            if let path = result.path { arguments["path"] = .text(path) }
            if let retryAfter = result.retryAfter { arguments["seconds"] = .number(retryAfter) }
            if let quota = result.quota {
                arguments["meterName"] = .text(meterName(quota.meter.rawValue, language: language))
                if let resetsAt = quota.resetsAt { arguments["resetsAt"] = .date(resetsAt) }
            }
            return arguments
        }
    }

    /// Each outcome's message key, made once rather than per answer.
    private static let verificationKeys = Dictionary(uniqueKeysWithValues: VerifyOutcome.allCases.map {
        ($0, "verify.\($0.rawValue)")
    })

    /// The first variant the catalogs have, else the code's own message.
    /// A value the message names but the error did not bring is a defect:
    /// it is logged, and the text never shows the placeholder.
    private func message(_ key: String, variants: [String?], _ arguments: [String: MessageArgument],
                         language: String) -> String {
        let chosen = variants.compactMap { $0.map { "\(key).\($0)" } }.first(where: localizer.contains) ?? key
        let missing = localizer.placeholders(of: chosen).subtracting(arguments.keys)
        if !missing.isEmpty {
            logger.error("message argument missing", metadata: ["key": "\(chosen)", "missing": "\(missing.sorted())"])
        }
        return localizer.string(chosen, arguments, language: language)
    }

    /// Values named `…Name` are message keys (a plan's name), `…At` times;
    /// whole numbers are numbers, so plurals and digit grouping follow the
    /// language.
    private func arguments(_ parameters: [String: String]) -> [String: MessageArgument] {
        parameters.reduce(into: [:]) { arguments, parameter in
            arguments[parameter.key] = if parameter.key.hasSuffix("Name") {
                .message(parameter.value)
            } else if parameter.key.hasSuffix("At"), let date = RFC3339.date(parameter.value) {
                .date(date)
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
}
