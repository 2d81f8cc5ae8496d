import Foundation

/// Chooses a language from what a caller asks for: one tag (`pl`, `pl-PL`,
/// `de_AT`) or a priority list in the form of an Accept-Language header
/// (`de-AT,de;q=0.9,en;q=0.5`).
enum LanguagePreference {
    /// The first supported language in the caller's order of preference,
    /// matching a region tag to its language (`de-AT` to `de`).
    static func bestMatch(for request: String, among supported: Set<String>) -> String? {
        let ranked = request.split(separator: ",").enumerated().compactMap { index, part -> (tag: String, q: Double, index: Int)? in
            let pieces = part.split(separator: ";")
            guard let first = pieces.first else { return nil }
            let tag = first.trimmingCharacters(in: .whitespaces).lowercased().replacingOccurrences(of: "_", with: "-")
            guard !tag.isEmpty, tag.count <= 35 else { return nil }
            var q = 1.0
            for parameter in pieces.dropFirst() {
                let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
                if pair.count == 2, pair[0] == "q", let value = Double(pair[1]) { q = value }
            }
            return q > 0 ? (tag, q, index) : nil
        }
        .sorted { ($0.q, -$0.index) > ($1.q, -$1.index) }
        for candidate in ranked {
            if supported.contains(candidate.tag) { return candidate.tag }
            if let language = candidate.tag.split(separator: "-").first.map(String.init), supported.contains(language) {
                return language
            }
        }
        return nil
    }
}
