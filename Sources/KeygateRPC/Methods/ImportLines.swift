import Foundation
import KeyStore
import KeygateJSON
package import KeygateLocalization
package import KeygateService
import Logging
package import PlanCatalog

extension ImportKeys.Key {
    /// The service's request for this key; `field` prefixes the names of
    /// members at fault (`keys[3].`).
    func request(organizationId: String, actor: String?, field: String) throws(ParamsError) -> ImportKeyRequest {
        let secret: ImportedKey.Secret
        switch (sha256, key) {
        case (let digest?, nil): secret = .sha256(digest)
        case (nil, let raw?): secret = .key(RawKey(raw))
        case (nil, nil): throw ParamsError(field: field + "sha256", kind: .missingEither(field + "key"))
        case (_?, _?): throw ParamsError(field: field + "key", kind: .exclusive(with: field + "sha256"))
        }
        return ImportKeyRequest(
            organizationId: organizationId, name: name, kind: kind, capabilities: capabilities, secret: secret,
            environment: environment, rateLimit: rateLimit, allowedOrigins: allowedOrigins ?? [], createdAt: createdAt,
            expiresAt: expiresAt, lastUsedAt: lastUsedAt, actor: actor)
    }
}

/// The lines of a `keygate import` file: each one key of `keys.import`
/// with its `organizationId`, read by the same rules as the method's
/// params, and refusals worded as the method words them.
package struct ImportLines: Sendable {
    private let messages: ErrorMessages
    private let language: String

    package init(localizer: Localizer, catalog: PlanCatalog, language: String? = nil) {
        messages = ErrorMessages(localizer: localizer, catalog: catalog, logger: Logger(label: "keygate.import"))
        self.language = localizer.language(for: language)
    }

    /// Why a line was refused: a stable code and a message.
    package struct Refusal: Error, Sendable, Hashable {
        package let code: String
        package let message: String

        init(_ error: RPCError) {
            code = error.data.code
            message = error.data.message
        }
    }

    package func request(_ line: String, actor: String?) -> Result<ImportKeyRequest, Refusal> {
        do throws(ParamsError) {
            let json: JSON
            do {
                json = try JSONParser.parse(line)
            } catch {
                return .failure(Refusal(messages.parse(error, language: language)))
            }
            guard case .object(let members) = json else {
                return .failure(Refusal(messages.error(.invalidRequest, variant: "import_line", language: language)))
            }
            guard let organization = members.first(where: { $0.key == "organizationId" })?.value else {
                throw ParamsError(field: "organizationId", kind: .missing)
            }
            guard case .string(let organizationId) = organization else {
                throw ParamsError(field: "organizationId", kind: .type(expected: "string"))
            }
            let key = try ParamsDecoder.decode(ImportKeys.Key.self, from: .object(members.filter { $0.key != "organizationId" }))
            return .success(try key.request(organizationId: organizationId, actor: actor, field: ""))
        } catch {
            return .failure(Refusal(messages.params(error, language: language)))
        }
    }

    package func refusal(_ error: ServiceError) -> Refusal {
        Refusal(messages.service(error, language: language))
    }
}
