import KeygateJSON
import Testing
@testable import KeygateRPC

/// `keys.verify`'s and `keys.create`'s params are read straight from a
/// well-formed request; the result is what the general decoder gives, and
/// any other shape is left to it, so its refusals stay the same.
@Suite("keys.verify's and keys.create's params read directly")
struct DirectParamsTests {
    private func fields(_ params: VerifyKey.Params) -> [String] {
        [params.key, params.authorization, params.capability, params.method, params.path, params.origin, params.ip,
         params.cost.map(String.init)].map { $0 ?? "-" }
    }

    private func parse(_ text: String) throws -> JSON {
        try Array(text.utf8).withUnsafeBufferPointer { try JSONParser.parse($0) }
    }

    @Test(arguments: [
        #"{"key":"kg_live_abc","capability":"booking.read"}"#,
        #"{"authorization":"Bearer kg_live_abc","method":"GET","path":"/v1/bookings","origin":"https://a.example","ip":"203.0.113.7","cost":3}"#,
        #"{"key":"kg_live_abc","capability":null,"cost":-2}"#,
        #"{}"#,
    ])
    func aWellFormedRequestReadsAsTheDecoderReadsIt(text: String) throws {
        let json = try parse(text)
        let direct = try #require(VerifyKey.Params.direct(json))
        #expect(fields(direct) == fields(try ParamsDecoder.decode(VerifyKey.Params.self, from: json)))
    }

    @Test(arguments: [
        #"{"key":"kg_live_abc","capabilty":"booking.read"}"#,
        #"{"key":7}"#,
        #"{"cost":"3"}"#,
        #"{"cost":1.5}"#,
        #"{"cost":1e3}"#,
        #"{"cost":123456789012345678901234567890}"#,
        #"{"key":["kg_live_abc"]}"#,
        #"{"key":true}"#,
        #"["kg_live_abc"]"#,
        #""kg_live_abc""#,
    ])
    func anyOtherShapeIsLeftToTheDecoder(text: String) throws {
        #expect(VerifyKey.Params.direct(try parse(text)) == nil)
    }

    private func fields(_ params: CreateKey.Params) -> [String] {
        [params.organizationId, params.name, params.kind, params.capabilities.joined(separator: "|"),
         params.expiresAt.map { "\($0.timeIntervalSince1970)" }, params.rateLimit.map(String.init),
         params.allowedOrigins?.joined(separator: "|"), params.environment, params.actor, params.idempotencyKey].map { $0 ?? "-" }
    }

    @Test(arguments: [
        #"{"organizationId":"org_1","name":"Zapier","kind":"owner_integration","capabilities":["booking.read"]}"#,
        #"{"organizationId":"org_1","name":"Zapier","kind":"owner_integration","capabilities":[],"expiresAt":"2027-01-31T12:00:00.250Z","rateLimit":120,"allowedOrigins":["https://a.example"],"environment":"test","actor":"user_7","idempotencyKey":"form-7f3a"}"#,
        #"{"organizationId":"org_1","name":"","kind":"k","capabilities":["a","b"],"expiresAt":null,"rateLimit":null,"allowedOrigins":null,"environment":null,"actor":null,"idempotencyKey":null}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":["a"],"rateLimit":-5,"allowedOrigins":[]}"#,
    ])
    func aWellFormedCreationReadsAsTheDecoderReadsIt(text: String) throws {
        let json = try parse(text)
        let direct = try #require(CreateKey.Params.direct(json))
        #expect(fields(direct) == fields(try ParamsDecoder.decode(CreateKey.Params.self, from: json)))
    }

    @Test(arguments: [
        #"{"organizationId":"org_1","name":"n","kind":"k"}"#,
        #"{"organizationId":null,"name":"n","kind":"k","capabilities":[]}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":"a"}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":["a",7]}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":[],"expiresAt":"tomorrow"}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":[],"rateLimit":60.5}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":[],"allowedOrigins":[null]}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":[],"scopes":["a"]}"#,
        #"{"organizationId":"org_1","name":"n","kind":"k","capabilities":[],"idempotencyKey":7}"#,
        #"["org_1"]"#,
    ])
    func anyOtherCreationIsLeftToTheDecoder(text: String) throws {
        #expect(CreateKey.Params.direct(try parse(text)) == nil)
    }
}
