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

    /// Every ASCII character, at every offset of an eight-byte word and in
    /// runs longer than one, written and read back: only quotes,
    /// backslashes and control characters are escaped, each as JSON names it.
    @Test func writtenStringsEscapeOnlyWhatJSONRequiresAndReadBack() throws {
        func expected(_ text: String) -> String {
            var out = "\""
            for scalar in text.unicodeScalars {
                switch scalar {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\r": out += "\\r"
                case "\t": out += "\\t"
                case _ where scalar.value < 0x20: out += "\\u00" + (scalar.value < 0x10 ? "0" : "") + String(scalar.value, radix: 16)
                default: out.unicodeScalars.append(scalar)
                }
            }
            return out + "\""
        }
        for code in 0..<0x80 {
            let character = String(UnicodeScalar(UInt8(code)))
            for prefix in 0..<10 {
                for text in [String(repeating: "a", count: prefix) + character + "bcdefghijk",
                             String(repeating: "é", count: prefix) + character + character + "🔑"] {
                    let written = JSON.string(text).text
                    #expect(written == expected(text), "\(code) at \(prefix)")
                    #expect(try parse(Array(written.utf8)) == .string(text))
                }
            }
        }
    }

    /// A lone continuation byte, a truncated sequence, an overlong encoding,
    /// a surrogate, bytes past U+10FFFF: each refused, never repaired.
    @Test(arguments: [[0x80], [0xC3], [0x61, 0xC3], [0xC0, 0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xFF]] as [[UInt8]])
    func bytesThatAreNotUTF8AreRefused(bytes: [UInt8]) {
        #expect(throws: JSONParser.Failure.invalidUTF8) { try string(bytes) }
        #expect(throws: JSONParser.Failure.invalidUTF8) { try string(Array("ok".utf8) + bytes + Array("ok".utf8)) }
    }
}
