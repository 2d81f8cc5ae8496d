import KeygateLocalization

extension Localizer {
    /// Why `language`, given as `option`, cannot be the language a command
    /// answers in, if it cannot: the translations hold no such language
    /// (a region of one they hold, `de-AT`, is taken). `serve --locale` and
    /// `import --language` refuse it rather than answer in the source
    /// language.
    func refusal(ofLanguage language: String, givenAs option: String) -> String? {
        supports(language) ? nil
            : "unknown language '\(language)' for \(option); the translations hold \(languages.joined(separator: ", "))"
    }
}
