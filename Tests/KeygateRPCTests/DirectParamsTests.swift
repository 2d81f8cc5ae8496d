import KeygateJSON
import Testing
@testable import KeygateRPC

/// `keys.verify`'s params are read straight from a well-formed request; the
/// result is what the general decoder gives, and any other shape is left
/// to it, so its refusals stay the same.
@Suite("keys.verify's params read directly")
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
}
