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

    private func dumped(_ value: some Any) -> String {
        var output = ""
        dump(value, to: &output)
        return output
    }
}
