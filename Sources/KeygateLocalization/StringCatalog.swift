import Foundation

/// A String Catalog (`.xcstrings`), the JSON format of Swift's localization
/// tools: one entry per key, one localization per language, each a string
/// or a string with plural substitutions.
///
/// Messages name their values: `{planName}` is replaced by a value, and
/// `%#@limit@` by the plural form for the number `limit`, in which `%arg`
/// stands for the number itself.
struct StringCatalog: Decodable {
    let sourceLanguage: String
    let strings: [String: Entry]

    struct Entry: Decodable {
        let localizations: [String: Localization]?
    }

    struct Localization: Decodable {
        let stringUnit: StringUnit?
        let substitutions: [String: Substitution]?
    }

    struct StringUnit: Decodable {
        let state: String?
        let value: String
    }

    struct Substitution: Decodable {
        let variations: Variations
    }

    struct Variations: Decodable {
        let plural: [String: Variation]
    }

    struct Variation: Decodable {
        let stringUnit: StringUnit
    }
}

/// One message in one language.
struct Message: Sendable, Hashable {
    let template: String
    /// Per plural placeholder, its form for each category.
    let plurals: [String: [PluralCategory: String]]
    /// Shows no values: the template is the text.
    let isFixed: Bool

    init(template: String, plurals: [String: [PluralCategory: String]]) {
        self.template = template
        self.plurals = plurals
        isFixed = plurals.isEmpty && !template.utf8.contains(UInt8(ascii: "{"))
    }

    /// The `{name}` placeholders, and the `%#@name@` plural ones, by name.
    var placeholders: Set<String> {
        var names = Set(plurals.keys)
        for text in [template] + plurals.values.flatMap(\.values) {
            names.formUnion(Self.namedPlaceholders(in: text))
        }
        return names
    }

    static func namedPlaceholders(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else { break }
            names.append(String(after[..<close]))
            rest = after[after.index(after: close)...]
        }
        return names
    }
}
