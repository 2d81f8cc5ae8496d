import Foundation
import KeygateJSON

/// Params read straight from a request of the expected shape, without
/// `Decodable`: for the method called on every request of a product's API
/// (`keys.verify`), where decoding two strings through a `Decoder` was a
/// quarter of a reply's time (docs/PERFORMANCE.md). `direct` answers `nil`
/// for any other shape (a member it does not know, a type it does not
/// expect), and ``ParamsDecoder`` then decodes the request
/// and says what is wrong with it, so every refusal stays the one the
/// decoder gives.
protocol DirectParams: Sendable {
    static func direct(_ json: JSON) -> Self?
}

extension VerifyKey.Params: DirectParams {
    private static let names: Set<String> = ["key", "authorization", "capability", "method", "path", "origin", "ip", "cost"]

    static func direct(_ json: JSON) -> Self? {
        guard case .object(let members) = json else { return nil }
        // The parser has refused a member given twice.
        var params = Self()
        for member in members {
            switch (member.key, member.value) {
            case ("key", .string(let text)): params.key = text
            case ("authorization", .string(let text)): params.authorization = text
            case ("capability", .string(let text)): params.capability = text
            case ("method", .string(let text)): params.method = text
            case ("path", .string(let text)): params.path = text
            case ("origin", .string(let text)): params.origin = text
            case ("ip", .string(let text)): params.ip = text
            case ("cost", .number(let text)):
                guard let cost = Int(text) else { return nil }
                params.cost = cost
            // As `decodeIfPresent` reads it: absent.
            case (let name, .null) where names.contains(name): continue
            default: return nil
            }
        }
        return params
    }
}

/// `keys.create`'s params, the other request a product sends in bulk (a
/// migration, an import through the API): through the `Decoder` they were
/// about as much of a creation's time as writing its audit entry
/// (docs/PERFORMANCE.md).
extension CreateKey.Params: DirectParams {
    private static let optionalNames: Set<String> =
        ["expiresAt", "rateLimit", "allowedOrigins", "environment", "actor", "idempotencyKey"]

    static func direct(_ json: JSON) -> Self? {
        guard case .object(let members) = json else { return nil }
        var organizationId: String?, name: String?, kind: String?, capabilities: [String]?
        var expiresAt: Date?, rateLimit: Int?, allowedOrigins: [String]?, environment: String?, actor: String?
        var idempotencyKey: String?
        for member in members {
            switch (member.key, member.value) {
            case ("organizationId", .string(let text)): organizationId = text
            case ("name", .string(let text)): name = text
            case ("kind", .string(let text)): kind = text
            case ("capabilities", .array(let elements)):
                guard let list = strings(elements) else { return nil }
                capabilities = list
            case ("expiresAt", .string(let text)):
                guard let date = RFC3339.date(text) else { return nil }
                expiresAt = date
            case ("rateLimit", .number(let text)):
                guard let limit = Int(text) else { return nil }
                rateLimit = limit
            case ("allowedOrigins", .array(let elements)):
                guard let list = strings(elements) else { return nil }
                allowedOrigins = list
            case ("environment", .string(let text)): environment = text
            case ("actor", .string(let text)): actor = text
            case ("idempotencyKey", .string(let text)): idempotencyKey = text
            // As `decodeIfPresent` reads an optional one: absent. A required
            // one given as null is the decoder's to refuse.
            case (let name, .null) where optionalNames.contains(name): continue
            default: return nil
            }
        }
        guard let organizationId, let name, let kind, let capabilities else { return nil }
        return Self(organizationId: organizationId, name: name, kind: kind, capabilities: capabilities, expiresAt: expiresAt,
                    rateLimit: rateLimit, allowedOrigins: allowedOrigins, environment: environment, actor: actor,
                    idempotencyKey: idempotencyKey)
    }

    /// The elements as strings, `nil` if any is not one.
    private static func strings(_ elements: [JSON]) -> [String]? {
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for element in elements {
            guard case .string(let text) = element else { return nil }
            strings.append(text)
        }
        return strings
    }
}
