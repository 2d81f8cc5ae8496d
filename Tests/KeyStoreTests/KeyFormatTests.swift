import Foundation
import KeygateTestSupport
import Testing
@testable import KeyStore

@Suite("Key format")
struct KeyFormatTests {
    let format = KeyFormat(prefix: "kg", environments: ["live", "test"])

    @Test func generatedKeysHaveThePrefixEnvironmentSecretAndChecksum() throws {
        let key = format.generate(environment: "test").unredacted
        #expect(key.hasPrefix("kg_test_"))
        let secret = key.dropFirst("kg_test_".count)
        #expect(secret.count == KeyFormat.randomLength + KeyFormat.checksumLength)
        #expect(secret.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber) })
        let parsed = try format.parse(key)
        #expect(parsed.environment == "test")
    }

    @Test func keysCarryAtLeast160BitsOfRandomness() {
        #expect(Double(KeyFormat.randomLength) * log2(62) >= 160)
    }

    @Test func keysAreNeverRepeated() {
        let keys = (0..<10_000).map { _ in format.generate(environment: "live").unredacted }
        #expect(Set(keys).count == keys.count)
    }

    @Test func checksumIsCRC32AsZlibComputesIt() {
        #expect(CRC32.checksum(Array("123456789".utf8)) == 0xCBF4_3926)
        #expect(CRC32.checksum([]) == 0)
    }

    /// The table-driven checksum (eight bytes a step) against the definition,
    /// bit by bit, for every length a key or a fragment of one can have.
    @Test func checksumMatchesTheBitwiseDefinitionAtEveryLength() {
        func reference(_ bytes: [UInt8]) -> UInt32 {
            var crc: UInt32 = 0xFFFF_FFFF
            for byte in bytes {
                crc ^= UInt32(byte)
                for _ in 0..<8 { crc = crc & 1 == 1 ? 0xEDB8_8320 ^ (crc >> 1) : crc >> 1 }
            }
            return crc ^ 0xFFFF_FFFF
        }
        var generator = SeededRandom(seed: 7)
        for length in 0...80 {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            #expect(CRC32.checksum(bytes) == reference(bytes), "length \(length)")
        }
    }

    @Test func base62DrawsEveryCharacterEvenly() {
        var generator = SeededRandom(seed: 42)
        let characters = Base62.random(count: 620_000, using: &generator)
        let counts = Dictionary(grouping: characters, by: { $0 }).mapValues(\.count)
        #expect(counts.count == 62)
        // Each character is expected 10,000 times; a bias towards the first
        // eight (a plain byte % 62) would put them near 11,300.
        #expect(counts.values.allSatisfy { (9_500...10_500).contains($0) })
    }

    @Test func everySingleCharacterTypoIsCaught() throws {
        let key = Array(format.generate(environment: "live").unredacted)
        let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")
        for index in "kg_live_".count..<key.count {
            for replacement in alphabet where replacement != key[index] {
                var typo = key
                typo[index] = replacement
                #expect(throws: KeyFormatError.checksumMismatch) { try format.parse(String(typo)) }
            }
        }
    }

    @Test func swappedNeighboursAreCaught() throws {
        let key = Array(format.generate(environment: "live").unredacted)
        for index in "kg_live_".count..<(key.count - 1) where key[index] != key[index + 1] {
            var swapped = key
            swapped.swapAt(index, index + 1)
            #expect(throws: KeyFormatError.checksumMismatch) { try format.parse(String(swapped)) }
        }
    }

    @Test func malformedKeysAreRefusedWithTheCheckThatFailed() {
        let key = format.generate(environment: "live").unredacted
        let cases: [(String, KeyFormatError)] = [
            ("", .wrongPrefix),
            ("kg", .wrongPrefix),
            ("sk_live_" + key.dropFirst(8), .wrongPrefix),
            ("KG" + key.dropFirst(2), .wrongPrefix),
            ("kg_prod_" + key.dropFirst(8), .unknownEnvironment),
            ("kg_live", .unknownEnvironment),
            (String(key.dropLast()), .wrongLength),
            (key + "0", .wrongLength),
            (key + String(repeating: "x", count: 100), .wrongLength),
            (String(key.dropLast(6)), .wrongLength),
            (String(key.prefix(20)) + "-" + String(key.dropFirst(21)), .invalidCharacter),
            (String(key.prefix(20)) + "é" + String(key.dropFirst(22)), .invalidCharacter),
            (" " + key, .wrongPrefix),
        ]
        for (candidate, error) in cases {
            #expect(throws: error, "\(candidate)") { try format.parse(candidate) }
        }
    }

    @Test func hintShowsThePrefixAndTheLastFourCharactersOnly() throws {
        let key = format.generate(environment: "live")
        let text = key.unredacted
        let hint = try format.parse(text).hint
        #expect(hint == "kg_live_…" + text.suffix(4))
    }

    @Test func aRawKeyPrintsAsItsHintWherever() {
        let key = format.generate(environment: "live")
        let secret = String(key.unredacted.dropFirst("kg_live_".count).prefix(KeyFormat.randomLength))
        for text in ["\(key)", String(describing: key), String(reflecting: key), "\([key])", dumped(key)] {
            #expect(!text.contains(secret), "\(text)")
        }
    }

    // MARK: Legacy formats

    let withLegacy = KeyFormat(prefix: "kg", environments: ["live", "test"],
                               legacy: [LegacyKeyFormat(prefix: "qv_pk_", environment: "live")])

    @Test func legacyKeysAreRecognisedByShapeAndHashedWhole() throws {
        let key = "qv_pk_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p_"
        let parsed = try withLegacy.parse(key)
        #expect(parsed.isLegacy && parsed.environment == "live")
        // The SHA-256 of the whole key (sha256sum), as the product stored it; in hex or base64.
        #expect(parsed.digest == KeyValidator.sha256("e12f3f65cc37520bbbcdbd2b526d9d943b9fa3d8536adb5a4c329b7d41378614"))
        #expect(parsed.digest == KeyValidator.sha256("4S8/Zcw3Ugu7zb0rUm2dlDufo9hTattaTDKbfUE3hhQ="))
        #expect(parsed.digest == KeyValidator.sha256("4S8_Zcw3Ugu7zb0rUm2dlDufo9hTattaTDKbfUE3hhQ"))
        #expect(KeyValidator.sha256("e12f3f65cc37520bbbcdbd2b526d9d943b9fa3d8536adb5a4c329b7d4137861") == nil)
        #expect(KeyValidator.sha256("g12f3f65cc37520bbbcdbd2b526d9d943b9fa3d8536adb5a4c329b7d41378614") == nil)
        #expect(withLegacy.digest(ofWellFormed: key) == parsed.digest)
        #expect(parsed.hint == "qv_pk_…O5p_")
        // Keygate's own keys read as before.
        let own = withLegacy.generate(environment: "test").unredacted
        #expect(try !withLegacy.parse(own).isLegacy)
        #expect(try withLegacy.parse(own).environment == "test")
    }

    @Test func legacyShapesOutsideTheRulesAreMalformed() {
        let body = String(repeating: "x", count: 16)
        for candidate in ["qv_pk_" + String(body.dropFirst()), "qv_pk_" + String(repeating: "x", count: 129),
                          "qv_pk_" + body + "!", "qv_sk_" + body, "QV_PK_" + body, "qv_pk_" + body + " "] {
            #expect(throws: KeyFormatError.self, "\(candidate)") { try withLegacy.parse(candidate) }
            #expect(withLegacy.digest(ofWellFormed: candidate) == nil)
        }
        #expect(withLegacy.digest(ofWellFormed: "qv_pk_" + body) != nil)
        // Without the legacy format declared, the same key is nothing.
        #expect(format.digest(ofWellFormed: "qv_pk_" + body) == nil)
    }

    @Test func aLegacyKeyEchoedInAnErrorShowsOnlyItsHint() {
        let secret = "Zq8rT2mW9xK4vB7nJ3hL6pD1sF5gA0cE"
        #expect(withLegacy.redacted("qv_pk_" + secret) == "qv_pk_…A0cE")
        // Whatever the underscores, a raw key's own text shows no more than four characters of it.
        for key in ["qv_pk_" + secret, "qv_pk_Zq8rT2mW9x_K4vB7nJ3hL6pD1sF5gA0cE", "sk_live_" + secret] {
            let shown = "\(RawKey(key))"
            #expect(!shown.contains(String(secret.prefix(8))) && !shown.contains("Zq8rT2mW9x"), "\(shown)")
        }
    }

    private func dumped(_ value: some Any) -> String {
        var output = ""
        dump(value, to: &output)
        return output
    }
}
