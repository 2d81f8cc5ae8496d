import Foundation
@testable import KeyStore
import Testing

@Suite("Finding keys in text")
struct KeyScannerTests {
    let format = StoreFixture.rules.format
    var scanner: KeyScanner { KeyScanner(format: format) }

    @Test func keysAreFoundWithTheirLineAndColumnWhereverTheyStand() {
        let one = format.generate(environment: "live").unredacted
        let two = format.generate(environment: "test").unredacted
        let text = "\(one)\nexport KEY=\"\(two)\" # and again: \(one)\nnothing here\n'\(two)'"
        let found = scanner.keys(in: Array(text.utf8))
        let again = 13 + two.utf8.count + "\" # and again: ".utf8.count
        #expect(found.map { [$0.line, $0.column] } == [[1, 1], [2, 13], [2, again], [4, 2]])
        #expect(found.map(\.key.unredacted) == [one, two, one, two])
    }

    /// Strings that look like keys and are not: every one-character typo,
    /// a key cut short or run into a word, another product's prefix.
    @Test func lookAlikesAreNotKeys() {
        let key = Array(format.generate(environment: "live").unredacted.utf8)
        var lookAlikes: [[UInt8]] = []
        for index in key.indices.dropFirst(8) {
            var typo = key
            typo[index] = typo[index] == UInt8(ascii: "a") ? UInt8(ascii: "b") : UInt8(ascii: "a")
            lookAlikes.append(typo)
        }
        lookAlikes.append(Array(key.dropLast()))
        lookAlikes.append(Array("x".utf8) + key)
        lookAlikes.append(key + Array("7".utf8))
        lookAlikes.append(key + Array("_more".utf8))
        lookAlikes.append(Array("zz".utf8) + key.dropFirst(2))
        lookAlikes.append(Array("kg_prod_".utf8) + key.dropFirst(8))
        let text = lookAlikes.map { $0 + [0x0A] }.reduce([], +)
        #expect(scanner.keys(in: text).isEmpty)
        // And the key itself, among them, is found.
        #expect(scanner.keys(in: text + key).map(\.key.unredacted) == [String(decoding: key, as: UTF8.self)])
    }

    /// What a scan prints of a key is its hint, never the secret.
    @Test func aFoundKeyPrintsAsItsHint() {
        let key = format.generate(environment: "live")
        let found = scanner.keys(in: Array("token: \(key.unredacted)".utf8))
        #expect("\(found)".contains(key.unredacted) == false)
        #expect("\(found[0].key)" == key.description)
    }
}
