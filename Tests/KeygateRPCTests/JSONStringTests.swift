import KeygateJSON
import Testing

/// Strings as the parser reads them: ASCII (the common case, read without
/// validation), other scripts, escapes, and bytes that are not UTF-8.
@Suite("JSON strings")
struct JSONStringTests {
    private func parse(_ bytes: [UInt8]) throws(JSONParser.Failure) -> JSON {
        try bytes.withUnsafeBufferPointer { buffer throws(JSONParser.Failure) in try JSONParser.parse(buffer) }
    }

    private func string(_ inner: [UInt8]) throws(JSONParser.Failure) -> JSON {
        try parse(Array(#"{"s":""#.utf8) + inner + Array(#""}"#.utf8))
    }

    @Test(arguments: ["kg_live_abc", "", "Zapier ✓", "zażółć gęślą jaźń", "鍵", "🔑 key", "a\u{7F}b"])
    func stringsReadAsWritten(text: String) throws {
        #expect(try string(Array(text.utf8))["s"] == .string(text))
    }

    @Test func escapesReadAsTheCharactersTheyName() throws {
        #expect(try string(Array(#"a\"b\\c\/d\n\u00e9\ud83d\udd11"#.utf8))["s"] == .string("a\"b\\c/d\né🔑"))
    }

    /// A lone continuation byte, a truncated sequence, an overlong encoding,
    /// a surrogate, bytes past U+10FFFF: each refused, never repaired.
    @Test(arguments: [[0x80], [0xC3], [0x61, 0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] as [[UInt8]])
    func bytesThatAreNotUTF8AreRefused(bytes: [UInt8]) {
        #expect(throws: JSONParser.Failure.invalidUTF8) { try string(bytes) }
        #expect(throws: JSONParser.Failure.invalidUTF8) { try string(Array("ok".utf8) + bytes + Array("ok".utf8)) }
    }
}
