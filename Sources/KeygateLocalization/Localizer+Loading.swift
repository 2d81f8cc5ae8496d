public import Foundation
public import Logging

/// A String Catalog could not be used.
public struct LocalizationError: Error, Sendable, CustomStringConvertible {
    public let description: String
}

extension Localizer {
    /// Loads every `.xcstrings` file in a directory; a key may appear in one file only.
    public static func load(directory: URL, logger: Logger) throws(LocalizationError) -> Localizer {
        let files: [URL]
        do {
            // Resolved first: Foundation lists a linked folder as empty.
            files = try FileManager.default.contentsOfDirectory(at: directory.resolvingSymlinksInPath(), includingPropertiesForKeys: nil)
                .filter { $0.pathExtension == "xcstrings" }
                .sorted { $0.lastPathComponent < $1.lastPathComponent }
        } catch {
            throw LocalizationError(description: "\(directory.path): cannot read the localization folder")
        }
        guard !files.isEmpty else {
            throw LocalizationError(description: "\(directory.path): no .xcstrings files")
        }
        var tables: [(name: String, data: Data)] = []
        for file in files {
            do {
                tables.append((file.path, try Data(contentsOf: file)))
            } catch {
                throw LocalizationError(description: "\(file.path): cannot be read")
            }
        }
        return try Localizer(tables: tables, logger: logger)
    }

    /// Builds a localizer from String Catalogs held in memory.
    public convenience init(tables: [(name: String, data: Data)], logger: Logger) throws(LocalizationError) {
        var messages: [String: [String: Message]] = [:]
        var origin: [String: String] = [:]
        var sourceLanguage: String?
        for (name, data) in tables {
            let catalog: StringCatalog
            do {
                catalog = try JSONDecoder().decode(StringCatalog.self, from: data)
            } catch {
                throw LocalizationError(description: "\(name): not a String Catalog (\(error))")
            }
            if let language = sourceLanguage, language != catalog.sourceLanguage {
                throw LocalizationError(description: "\(name): source language \(catalog.sourceLanguage), not \(language)")
            }
            sourceLanguage = catalog.sourceLanguage
            for (key, entry) in catalog.strings {
                if let other = origin[key] {
                    throw LocalizationError(description: "\(name): “\(key)” is also in \(other)")
                }
                origin[key] = name
                var translations: [String: Message] = [:]
                for (language, localization) in entry.localizations ?? [:] {
                    guard let unit = localization.stringUnit else { continue }
                    let plurals = (localization.substitutions ?? [:]).mapValues { substitution in
                        Dictionary(uniqueKeysWithValues: substitution.variations.plural.compactMap { category, variation in
                            PluralCategory(rawValue: category).map { ($0, variation.stringUnit.value) }
                        })
                    }
                    translations[language] = Message(template: unit.value, plurals: plurals)
                }
                messages[key] = translations
            }
        }
        self.init(sourceLanguage: sourceLanguage ?? "en", messages: messages, logger: logger)
    }

    /// Everything that makes the catalogs incomplete: a message missing in a
    /// language, placeholders that differ from the source language's, a
    /// plural form a language needs but lacks. Empty when all is well.
    public func completenessProblems() -> [String] {
        var problems: [String] = []
        for key in messages.keys.sorted() {
            let translations = messages[key]!
            guard let source = translations[sourceLanguage] else {
                problems.append("\(key): no \(sourceLanguage) text")
                continue
            }
            for language in languages {
                guard let message = translations[language] else {
                    problems.append("\(key): no \(language) translation")
                    continue
                }
                if message.placeholders != source.placeholders {
                    problems.append("\(key) [\(language)]: placeholders \(message.placeholders.sorted()) differ from \(sourceLanguage) \(source.placeholders.sorted())")
                }
                for (name, forms) in message.plurals {
                    let missing = PluralRules.categories(for: language).filter { forms[$0] == nil }
                    if !missing.isEmpty {
                        problems.append("\(key) [\(language)]: plural “\(name)” lacks \(missing.map(\.rawValue))")
                    }
                    if !message.template.contains("%#@\(name)@") {
                        problems.append("\(key) [\(language)]: plural “\(name)” is never used")
                    }
                }
            }
        }
        return problems
    }
}
