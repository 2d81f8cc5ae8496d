import Foundation
import InMemoryLogging
import KeygateLocalization
import Logging
import Testing

@Suite("Choosing the language")
struct LanguageChoiceTests {
    let localizer = Repository.localizer

    @Test(arguments: [
        ("pl", "pl"), ("pl-PL", "pl"), ("PL_pl", "pl"), ("de-AT", "de"), ("de-CH, fr;q=0.9", "de"),
        ("fr-FR,fr;q=0.9,de;q=0.8,en;q=0.7", "de"), ("en-GB", "en"), ("fr", "en"), ("*", "en"),
        ("pl;q=0, de", "de"), ("de;q=0.5, pl;q=0.9", "pl"), ("", "en"), ("en;q=abc, pl", "en"),
    ])
    func theCallersPreferenceWinsThenTheDefaultThenEnglish(request: String, expected: String) {
        #expect(localizer.language(for: request) == expected)
    }

    @Test func theServerDefaultAppliesWhenTheCallerAsksForNothingWeHave() {
        #expect(localizer.language(for: nil, default: "de-DE") == "de")
        #expect(localizer.language(for: "fr", default: "pl") == "pl")
        #expect(localizer.language(for: nil, default: "fr") == "en")
    }

    @Test func aMissingTranslationFallsBackToEnglishAndIsLoggedOnce() throws {
        let handler = InMemoryLogHandler()
        let logger = Logger(label: "test") { _ in handler }
        let table = Data("""
            {"sourceLanguage": "en", "version": "1.0", "strings": {"only.english": {"localizations": {
              "en": {"stringUnit": {"state": "translated", "value": "Only in English"}},
              "de": {"stringUnit": {"state": "translated", "value": "Nur hier"}}}}}}
            """.utf8)
        let localizer = try Localizer(tables: [("t.xcstrings", table)], logger: logger)
        for _ in 0..<3 {
            #expect(localizer.string("only.english", language: "pl") == "Only in English")
        }
        #expect(handler.entries.count == 1)
        #expect(handler.entries.first?.level == .warning)
        #expect(localizer.string("no.such.key", language: "en") == "no.such.key")
        #expect(handler.entries.count == 2)
    }
}
