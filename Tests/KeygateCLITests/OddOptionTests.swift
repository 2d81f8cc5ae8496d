import Foundation
import KeygateTestSupport
import Testing

/// Every option of every command, and every setting `serve` reads from
/// its environment, given odd values in turn: the command line's
/// counterpart of `OddStringTests`. Each run must end by itself with a
/// status its command documents, never by a signal; a refusal must say
/// something and leave nothing behind in the folder it ran in.
///
/// It found `serve --database k` trapping just after it began serving,
/// retentions and intervals too large trapping it once serving, a folder
/// given as the database getting a usage file created beside it, and
/// `scan` creating a database where a path was mistyped (docs/TESTING.md).
@Suite("Odd values in every option")
struct OddOptionTests {
    /// One setting of one command: an option, an environment variable, or
    /// (neither) the command's argument.
    struct Setting: Sendable, CustomTestStringConvertible {
        /// The command and the words it needs before its options.
        let command: [String]
        let option: String?
        let variable: String?

        static func option(_ option: String, of command: String...) -> Setting {
            Setting(command: command, option: option, variable: nil)
        }

        static func variable(_ name: String) -> Setting {
            Setting(command: ["serve"], option: nil, variable: name)
        }

        static func argument(of command: String) -> Setting {
            Setting(command: [command], option: nil, variable: nil)
        }

        var testDescription: String { (command + [option ?? variable.map { "\($0)=" } ?? "<argument>"]).joined(separator: " ") }

        /// The command's words with `value` in this setting's place.
        func arguments(_ value: String) -> [String] {
            if let option { return command + [option, value] }
            return variable == nil ? command + [value] : command
        }
    }

    /// Empty and blank, a one-character name, numbers at and past the
    /// edges, text no option expects, a folder, and a long value.
    static let values = ["", " ", "k", "0", "9223372036854775807", "日本語\u{202E}x", ".", String(repeating: "x", count: 5_000)]

    static let settings: [Setting] = [
        "--database", "--freshness", "--rate-limit-outage", "--answer-timeout", "--unreachable-grace", "--pool-mode", "--catalog", "--localization",
        "--locale",
        "--max-line-bytes", "--log-level", "--log-format", "--event-clock-skew", "--event-retention-days",
        "--event-sweep-seconds", "--usage-retention-days", "--idempotency-retention-days", "--audit-retention-days",
        "--statistics-seconds", "--cache-keys",
    ].map { Setting.option($0, of: "serve") } + [
        "KEYGATE_DATABASE", "KEYGATE_FRESHNESS", "KEYGATE_RATE_LIMIT_OUTAGE", "KEYGATE_ANSWER_TIMEOUT", "KEYGATE_UNREACHABLE_GRACE",
        "KEYGATE_POOL_MODE",
        "KEYGATE_CATALOG",
        "KEYGATE_LOCALIZATION", "KEYGATE_LOCALE", "KEYGATE_LOG_LEVEL", "KEYGATE_LOG_FORMAT", "KEYGATE_EVENT_CLOCK_SKEW",
        "KEYGATE_EVENT_RETENTION_DAYS", "KEYGATE_USAGE_RETENTION_DAYS", "KEYGATE_IDEMPOTENCY_RETENTION_DAYS",
        "KEYGATE_AUDIT_RETENTION_DAYS", "KEYGATE_STATISTICS_SECONDS", "KEYGATE_CACHE_KEYS",
    ].map(Setting.variable) + ["--catalog", "--database", "--pool-mode", "--format"].map { Setting.option($0, of: "scan", "-") }
        + ["--database", "--pool-mode", "--catalog", "--actor", "--language", "--format"]
        .map { Setting.option($0, of: "import", "-") }
        + ["--database", "--within", "--format"].map { Setting.option($0, of: "status") }
        + [Setting.option("--database", of: "backup", "copy.sqlite"), .argument(of: "backup")]
        + [Setting.option("--database", of: "restore", "backup.sqlite"), .argument(of: "restore")]
        + [Setting.option("--database", of: "migrate")]

    @Test(arguments: settings)
    func everyOddValueEndsInAnAnswerOrARefusal(_ setting: Setting) throws {
        for value in Self.values {
            let folder = try ScratchFolder.make("keygate-odd-option")
            let run = try ToolRun(ServeProcess.executable, setting.arguments(value),
                                  in: folder, environment: setting.variable.map { [$0: value] } ?? [:], input: "")
            let place = "\(setting.testDescription) '\(value.prefix(12))'"
            #expect(run.signal == nil && [0, 1, 2, 64].contains(run.status), "\(place): \(run.errors.suffix(1_000))")
            if setting.command == ["serve"] { #expect(run.output.isEmpty, "\(place): \(run.output.prefix(300))") }
            guard run.status != 0 else { continue }
            #expect(!run.errors.isEmpty, "\(place): refused in silence")
            #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path) == [], "\(place): left files")
        }
    }
}
