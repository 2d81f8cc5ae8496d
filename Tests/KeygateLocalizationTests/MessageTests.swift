import Foundation
import KeygateLocalization
import Logging
import Testing

/// The messages a user meets most, as a native speaker would write them.
@Suite("Messages people read")
struct MessageTests {
    let localizer = Repository.localizer

    func text(_ key: String, _ arguments: [String: MessageArgument], _ language: String) -> String {
        localizer.string(key, arguments, language: language)
    }

    func text(_ key: String, _ language: String) -> String {
        localizer.string(key, language: language)
    }

    @Test func planForbidsAPIKeysNamesThePlanThatWouldAllowThem() {
        let arguments: [String: MessageArgument] = ["planName": .message("plan.starter"), "requiredPlanName": .message("plan.pro")]
        #expect(text("error.plan_forbids_api_keys", arguments, "en")
            == "API keys are not included in the Starter plan. Upgrade to Pro to create keys for your integrations.")
        #expect(text("error.plan_forbids_api_keys", arguments, "pl")
            == "Klucze API nie są dostępne w planie Starter. Przejdź na plan Pro, aby tworzyć klucze dla swoich integracji.")
        #expect(text("error.plan_forbids_api_keys", arguments, "de")
            == "API-Schlüssel sind im Tarif Starter nicht enthalten. Wechseln Sie zu Pro, um Schlüssel für Ihre Integrationen zu erstellen.")
        #expect(text("error.plan_forbids_api_keys", ["planName": .message("plan.free"), "requiredPlanName": .message("plan.pro")], "pl")
            .hasPrefix("Klucze API nie są dostępne w planie Bezpłatny."))
    }

    @Test(arguments: [
        (1, "1 aktywny klucz"), (2, "2 aktywne klucze"), (4, "4 aktywne klucze"), (5, "5 aktywnych kluczy"),
        (12, "12 aktywnych kluczy"), (14, "14 aktywnych kluczy"), (21, "21 aktywnych kluczy"), (22, "22 aktywne klucze"),
        (25, "25 aktywnych kluczy"), (102, "102 aktywne klucze"), (112, "112 aktywnych kluczy"), (0, "0 aktywnych kluczy"),
    ])
    func polishKeyCountsFollowCLDRPlurals(count: Int, phrase: String) {
        let message = text("error.key_limit_reached",
                           ["limit": .number(count), "planName": .message("plan.pro"), "requiredPlanName": "Enterprise"], "pl")
        #expect(message.hasPrefix("Plan Pro pozwala na \(phrase) jednocześnie."), "\(message)")
    }

    @Test func englishAndGermanKeyCounts() {
        let one: [String: MessageArgument] = ["limit": 1, "planName": .message("plan.pro"), "requiredPlanName": "Enterprise"]
        let many: [String: MessageArgument] = ["limit": 25, "planName": .message("plan.pro"), "requiredPlanName": "Enterprise"]
        #expect(text("error.key_limit_reached", one, "en").hasPrefix("Your Pro plan allows 1 active key at a time."))
        #expect(text("error.key_limit_reached", many, "en").hasPrefix("Your Pro plan allows 25 active keys at a time."))
        #expect(text("error.key_limit_reached", one, "de").hasPrefix("Ihr Tarif Pro erlaubt 1 aktiven Schlüssel gleichzeitig."))
        #expect(text("error.key_limit_reached", many, "de").hasPrefix("Ihr Tarif Pro erlaubt 25 aktive Schlüssel gleichzeitig."))
    }

    @Test func revokedKeys() {
        #expect(text("verify.revoked", "en") == "This API key has been revoked.")
        #expect(text("verify.revoked", "pl") == "Ten klucz API został unieważniony.")
        #expect(text("verify.revoked", "de") == "Dieser API-Schlüssel wurde widerrufen.")
    }

    @Test(arguments: [
        ("en", 1, "Too many requests. Try again in 1 second."),
        ("en", 30, "Too many requests. Try again in 30 seconds."),
        ("pl", 1, "Za dużo zapytań. Spróbuj ponownie za 1 sekundę."),
        ("pl", 3, "Za dużo zapytań. Spróbuj ponownie za 3 sekundy."),
        ("pl", 15, "Za dużo zapytań. Spróbuj ponownie za 15 sekund."),
        ("pl", 42, "Za dużo zapytań. Spróbuj ponownie za 42 sekundy."),
        ("de", 1, "Zu viele Anfragen. Versuchen Sie es in 1 Sekunde erneut."),
        ("de", 59, "Zu viele Anfragen. Versuchen Sie es in 59 Sekunden erneut."),
    ])
    func rateLimitedSaysWhenToTryAgain(language: String, seconds: Int, expected: String) {
        #expect(text("verify.rate_limited", ["seconds": .number(seconds)], language) == expected)
    }

    @Test func quotaExceededSaysWhenItResets() {
        var components = DateComponents(year: 2026, month: 12, day: 1)
        components.timeZone = TimeZone(identifier: "UTC")
        let reset = Calendar(identifier: .gregorian).date(from: components)!
        let arguments: [String: MessageArgument] = ["meterName": .message("meter.api.requests"), "resetsAt": .date(reset)]
        #expect(text("verify.quota_exceeded", arguments, "en") == "The quota for API requests is used up; it resets on December 1, 2026.")
        #expect(text("verify.quota_exceeded", arguments, "pl") == "Limit „Zapytania API” został wyczerpany — odnowi się 1 grudnia 2026.")
        #expect(text("verify.quota_exceeded", arguments, "de")
            == "Das Kontingent „API-Anfragen“ ist aufgebraucht; es wird am 1. Dezember 2026 zurückgesetzt.")
    }

    @Test(arguments: [
        (nil, "Never", "Nigdy", "Nie"),
        (20, "Just now", "Przed chwilą", "Gerade eben"),
        (60, "a minute ago", "minutę temu", "vor einer Minute"),
        (5 * 60, "5 minutes ago", "5 minut temu", "vor 5 Minuten"),
        (2 * 3_600, "2 hours ago", "2 godziny temu", "vor 2 Stunden"),
        (86_400 + 10, "yesterday", "wczoraj", "gestern"),
        (2 * 86_400, "2 days ago", "2 dni temu", "vor 2 Tagen"),
        (22 * 86_400, "22 days ago", "22 dni temu", "vor 22 Tagen"),
        (95 * 86_400, "3 months ago", "3 miesiące temu", "vor 3 Monaten"),
        (6 * 30 * 86_400, "6 months ago", "6 miesięcy temu", "vor 6 Monaten"),
        (800 * 86_400, "2 years ago", "2 lata temu", "vor 2 Jahren"),
    ] as [(Int?, String, String, String)])
    func lastUsedTimes(secondsAgo: Int?, english: String, polish: String, german: String) {
        let now = Date(timeIntervalSince1970: 1_790_000_000)
        let used = secondsAgo.map { now.addingTimeInterval(-TimeInterval($0)) }
        #expect(localizer.relativeTime(used, now: now, language: "en") == english)
        #expect(localizer.relativeTime(used, now: now, language: "pl") == polish)
        #expect(localizer.relativeTime(used, now: now, language: "de") == german)
    }

    @Test func valuesAreNeverExpandedAsPlaceholders() {
        #expect(text("error.invalid_origin.path", ["origin": "https://x/{origin}"], "en").hasPrefix("“https://x/{origin}” has a path"))
    }

    @Test func numbersAreWrittenTheWayEachLanguageWritesThem() {
        let arguments: [String: MessageArgument] = ["max": 65_536]
        #expect(text("rpc.request_too_large", arguments, "en") == "The request is larger than 65,536 bytes and was skipped.")
        #expect(text("rpc.request_too_large", arguments, "de") == "Die Anfrage ist größer als 65.536 Byte und wurde übersprungen.")
    }

    /// Filled-in messages are kept (``Localizer/renderedCapacity``): the
    /// same key in another language or with other values is its own text,
    /// and past the bound every text is still right.
    @Test func filledInMessagesAreKeptByKeyLanguageAndValues() throws {
        let localizer = try Localizer.load(directory: Repository.root.appending(path: "Localization"), logger: Logger(label: "test"))
        func retry(_ seconds: Int, _ language: String) -> String {
            localizer.string("verify.rate_limited", ["seconds": .number(seconds)], language: language)
        }
        for _ in 0..<2 {
            #expect(retry(1, "en") == "Too many requests. Try again in 1 second.")
            #expect(retry(30, "en") == "Too many requests. Try again in 30 seconds.")
            #expect(retry(1, "pl") == "Za dużo zapytań. Spróbuj ponownie za 1 sekundę.")
            #expect(retry(3, "pl") == "Za dużo zapytań. Spróbuj ponownie za 3 sekundy.")
        }
        // Values a caller chose, more of them than are kept.
        for index in 0..<(Localizer.renderedCapacity + 100) {
            let origin = "https://app\(index).example"
            #expect(localizer.string("verify.origin_not_allowed", ["origin": .text(origin)], language: "en")
                == "Requests from \(origin) are not allowed with this API key.")
        }
        #expect(retry(30, "en") == "Too many requests. Try again in 30 seconds.")
        #expect(retry(1, "pl") == "Za dużo zapytań. Spróbuj ponownie za 1 sekundę.")
    }
}
