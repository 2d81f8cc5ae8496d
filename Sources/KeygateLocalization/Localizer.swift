import Foundation
import Logging
import Locking

/// Every message a person reads, in every language Keygate ships, loaded
/// once from the String Catalogs in `Localization/`.
///
/// ```swift
/// let localizer = try Localizer.load(directory: URL(filePath: "Localization"), logger: logger)
/// let language = localizer.language(for: "pl-PL,de;q=0.8")              // "pl"
/// localizer.string("error.key_limit_reached",
///                  ["limit": 5, "planName": .message("plan.pro"), "requiredPlanName": .message("plan.pro")],
///                  language: language)
/// // "Plan Pro pozwala na 5 aktywnych kluczy jednocześnie. …"
/// ```
///
/// A message missing in a language falls back to the source language
/// (English), and the gap is logged once.
public final class Localizer: Sendable {
    /// The language every message exists in, and the last fallback.
    public let sourceLanguage: String
    /// The source language first, then the others alphabetically.
    public let languages: [String]
    /// Key, then language.
    let messages: [String: [String: Message]]
    /// ``languages`` as a set, for ``language(for:default:)``, which runs
    /// once per request.
    private let supported: Set<String>
    private let logger: Logger
    private let reportedGaps = Locked<Set<String>>([])
    /// Messages already filled in, by key, language and values: the same
    /// refusal goes out again and again (a key over its rate limit is
    /// answered with "retry in N seconds" for as long as its client keeps
    /// trying), and filling one in through Foundation's formatters cost more
    /// than the verification it reports (docs/PERFORMANCE.md).
    private let rendered = Locked<[RenderedKey: String]>([:])
    /// How many filled-in messages are kept; past it they are all
    /// forgotten at once. Values come from callers (an origin, a path), so
    /// the set must stay bounded; what is in use comes back at once.
    public static let renderedCapacity = 4_096

    init(sourceLanguage: String, messages: [String: [String: Message]], logger: Logger) {
        self.sourceLanguage = sourceLanguage
        self.messages = messages
        self.logger = logger
        let others = Set(messages.values.flatMap(\.keys)).subtracting([sourceLanguage]).sorted()
        languages = [sourceLanguage] + others
        supported = Set(languages)
    }

    public func contains(_ key: String) -> Bool { messages[key] != nil }

    /// Every message key, sorted.
    public var keys: [String] { messages.keys.sorted() }

    /// The names of the values a message shows, in the source language
    /// (every translation shows the same ones; see ``completenessProblems()``).
    public func placeholders(of key: String) -> Set<String> {
        messages[key]?[sourceLanguage]?.placeholders ?? []
    }

    /// Whether `request` (a tag, or a list in the form of an
    /// Accept-Language header) names a language the translations hold,
    /// itself or through its region (`de-AT`): what an operator's choice
    /// of a default language must do.
    public func supports(_ request: String) -> Bool {
        LanguagePreference.bestMatch(for: request, among: supported) != nil
    }

    /// The language to answer in: the best match for what the caller asked
    /// for, else the server's default, else the source language.
    public func language(for request: String?, default fallback: String? = nil) -> String {
        for candidate in [request, fallback].compactMap({ $0 }) {
            if let match = LanguagePreference.bestMatch(for: candidate, among: supported) { return match }
        }
        return sourceLanguage
    }

    /// A message in a language, with its values filled in. An unknown key
    /// comes back as the key itself, so a defect shows rather than hides.
    public func string(_ key: String, _ arguments: [String: MessageArgument] = [:], language: String) -> String {
        string(key, language: language) { arguments }
    }

    /// A message in a language, with the values `arguments` gives filled
    /// in; `arguments` is called only if the message shows any. For
    /// messages sent with nearly every answer (a verification's, whose
    /// values take lookups to gather), most of which show none.
    public func string(_ key: String, language: String, arguments: () -> [String: MessageArgument]) -> String {
        guard let translations = messages[key] else {
            reportOnce("\(key)") { logger.error("no message for key", metadata: ["key": "\(key)"]) }
            return key
        }
        var language = language
        var message = translations[language]
        if message == nil {
            reportOnce("\(key)|\(language)") {
                logger.warning("message missing in language; using the source language",
                               metadata: ["key": "\(key)", "language": "\(language)"])
            }
            language = sourceLanguage
            message = translations[sourceLanguage]
        }
        guard let message else { return key }
        // Most messages a verification answers with have nothing to fill.
        if message.isFixed { return message.template }
        let arguments = arguments()
        let cacheKey = RenderedKey(key: key, language: language, arguments: arguments)
        if let text = rendered.withLock({ $0[cacheKey] }) { return text }
        let text = render(message, arguments, language: language)
        rendered.withLock { rendered in
            if rendered.count >= Self.renderedCapacity { rendered.removeAll(keepingCapacity: true) }
            rendered[cacheKey] = text
        }
        return text
    }

    /// What a filled-in message depends on: the catalogs are loaded once
    /// and never change, so the same three give the same text.
    private struct RenderedKey: Hashable {
        let key: String
        let language: String
        let arguments: [String: MessageArgument]
    }

    private func render(_ message: Message, _ arguments: [String: MessageArgument], language: String) -> String {
        var text = message.template
        for (name, forms) in message.plurals {
            let number: Int = if case .number(let value)? = arguments[name] { value } else { 0 }
            let form = forms[PluralRules.category(of: number, in: language)] ?? forms[.other] ?? ""
            text = text.replacingOccurrences(
                of: "%#@\(name)@", with: form.replacingOccurrences(of: "%arg", with: format(.number(number), language)))
        }
        // One pass, so a value that itself contains braces is never expanded.
        var output = ""
        var rest = Substring(text)
        while let open = rest.firstIndex(of: "{") {
            output += rest[..<open]
            let after = rest[rest.index(after: open)...]
            guard let close = after.firstIndex(of: "}") else {
                rest = rest[open...]
                break
            }
            let name = String(after[..<close])
            // A value the caller did not bring is left out rather than shown
            // as `{name}`; the RPC layer logs it as the defect it is.
            output += arguments[name].map { format($0, language) } ?? ""
            rest = after[after.index(after: close)...]
        }
        return output + rest
    }

    private func format(_ argument: MessageArgument, _ language: String) -> String {
        switch argument {
        case .text(let text):
            return text
        case .number(let number):
            return number.formatted(.number.locale(Locale(identifier: language)))
        case .date(let date):
            var style = Date.FormatStyle(date: .long, time: .omitted, locale: Locale(identifier: language))
            style.timeZone = TimeZone(identifier: "UTC")!
            return date.formatted(style)
        case .moment(let date):
            let style = Date.FormatStyle(locale: Locale(identifier: language), timeZone: TimeZone(identifier: "UTC")!)
                .year().month(.wide).day().hour().minute().timeZone(.specificName(.short))
            return date.formatted(style)
        case .message(let key):
            return string(key, language: language)
        }
    }

    private func reportOnce(_ gap: String, _ report: () -> Void) {
        if reportedGaps.withLock({ $0.insert(gap).inserted }) { report() }
    }
}
