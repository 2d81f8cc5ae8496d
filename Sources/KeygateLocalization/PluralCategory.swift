/// The CLDR plural categories (https://cldr.unicode.org/index/cldr-spec/plural-rules).
public enum PluralCategory: String, Sendable, Hashable, CaseIterable, Codable {
    case zero, one, two, few, many, other
}

/// CLDR plural rules for whole numbers, for the languages Keygate ships.
public enum PluralRules {
    /// The categories a language's translations must provide.
    public static func categories(for language: String) -> [PluralCategory] {
        switch language {
        case "pl": [.one, .few, .many, .other]
        default: [.one, .other]
        }
    }

    /// The category of a whole number in a language. Polish, from CLDR:
    /// one: 1; few: ends in 2-4 except 12-14; many: every other whole number;
    /// other: fractions only. English and German: one: 1; other: the rest.
    public static func category(of number: Int, in language: String) -> PluralCategory {
        let n = number.magnitude
        switch language {
        case "pl":
            if n == 1 { return .one }
            if (2...4).contains(n % 10) && !(12...14).contains(n % 100) { return .few }
            return .many
        default:
            return n == 1 ? .one : .other
        }
    }
}
