import Foundation
import KeyStore
import KeygateService
import KeygateLocalization
import Logging
import PlanCatalog
import Testing

/// Completeness is a test: nothing a person may read is left untranslated.
@Suite("Every message in every language")
struct CompletenessTests {
    let localizer = Repository.localizer

    @Test func englishPolishAndGermanAreShipped() throws {
        #expect(localizer.sourceLanguage == "en")
        #expect(localizer.languages == ["en", "de", "pl"])
        // Inside the library too, for a product that embeds it.
        let shipped = try Localizer.shipped(logger: Logger(label: "test"))
        #expect(shipped.languages == localizer.languages && shipped.keys == localizer.keys)
    }

    @Test func everyMessageExistsInEveryLanguageWithTheSamePlaceholdersAndEveryPluralForm() {
        #expect(localizer.completenessProblems() == [])
    }

    /// Message keys written literally in the code exist.
    @Test func everyMessageKeyInTheCodeExists() throws {
        let literal = try Regex(#""((?:time|verify|rpc(?!\.discover)|error|health(?!\.check"))\.[a-z_]+(?:\.[a-z_]+)*)""#)
        var missing: [String] = []
        for (path, text) in try Repository.sources() where !path.contains("/KeygateLocalization/") || path.hasSuffix("RelativeTime.swift") {
            for match in text.matches(of: literal) {
                let key = String(match.output[1].substring!)
                if !localizer.contains(key) { missing.append("\(key) in \(path)") }
            }
        }
        #expect(missing == [])
    }

    /// Type names in "must be {expected}" messages, from the params decoder.
    @Test func everyExpectedTypeHasAName() throws {
        let pattern = try Regex(#"(?:mismatch|expected:) ?\(?"([a-z-]+)"\)?"#)
        var missing: [String] = []
        for (path, text) in try Repository.sources() where path.contains("/KeygateRPC/") {
            for match in text.matches(of: pattern) {
                let key = "rpc.type.\(match.output[1].substring!)"
                if !localizer.contains(key) { missing.append(key) }
            }
        }
        #expect(missing == [])
    }

    @Test func everyStatusHasALabel() {
        let keys = KeyStatus.allCases.map { "status.\($0.rawValue)" }
            + SubscriptionStatus.allCases.map { "subscription.\($0.rawValue)" }
        #expect(keys.filter { !localizer.contains($0) } == [])
    }

    @Test(arguments: ["plans.xml", "examples/booking-engine.xml", "examples/channel-manager.xml", "examples/link-platform.xml"])
    func everyNameAndDescriptionOfAShippedCatalogIsTranslated(catalog name: String) throws {
        let catalog = try PlanCatalog.load(contentsOf: Repository.root.appending(path: "Plans/\(name)"))
        let keys = catalog.plans.map(\.nameKey) + catalog.kinds.map(\.nameKey)
            + catalog.capabilities.map(\.descriptionKey) + catalog.meters.map(\.nameKey)
        #expect(keys.filter { !localizer.contains($0) } == [])
    }

    @Test func aGapInALanguageIsFoundByTheCheck() throws {
        let table = Data("""
            {"sourceLanguage": "en", "version": "1.0", "strings": {
              "greeting": {"localizations": {
                "en": {"stringUnit": {"state": "translated", "value": "Hello {name}"}},
                "pl": {"stringUnit": {"state": "translated", "value": "Cześć"}}}},
              "keys": {"localizations": {
                "en": {"stringUnit": {"state": "translated", "value": "%#@count@"},
                       "substitutions": {"count": {"argNum": 1, "formatSpecifier": "lld", "variations": {"plural": {
                         "one": {"stringUnit": {"state": "translated", "value": "%arg key"}},
                         "other": {"stringUnit": {"state": "translated", "value": "%arg keys"}}}}}}},
                "pl": {"stringUnit": {"state": "translated", "value": "%#@count@"},
                       "substitutions": {"count": {"argNum": 1, "formatSpecifier": "lld", "variations": {"plural": {
                         "one": {"stringUnit": {"state": "translated", "value": "%arg klucz"}},
                         "other": {"stringUnit": {"state": "translated", "value": "%arg klucza"}}}}}}}}},
              "bye": {"localizations": {"en": {"stringUnit": {"state": "translated", "value": "Bye"}}}}
            }}
            """.utf8)
        let localizer = try Localizer(tables: [("test.xcstrings", table)], logger: .init(label: "test"))
        #expect(localizer.completenessProblems() == [
            "bye: no pl translation",
            "greeting [pl]: placeholders [] differ from en [\"name\"]",
            "keys [pl]: plural “count” lacks [\"few\", \"many\"]",
        ])
    }
}
