import ArgumentParser
import Foundation
import KeyStore
import KeygateJSON
import KeygateLocalization
import KeygateRPC
import KeygateService
import Logging
import PlanCatalog

/// `keygate import`: moves existing keys in, in bulk, from JSON Lines.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Import existing keys from a JSON Lines file.",
        discussion: """
            Each line is one key as keys.import takes it, with its organizationId: \
            {"organizationId": "org_1", "name": "Zapier", "kind": "owner_integration", \
            "capabilities": ["booking.read"], "sha256": "<hex digest>"} (or "key": the key itself, \
            hashed on the way in). Every key is checked against its organization's plan as a \
            creation would be; a refused key affects no other. Keys already imported are \
            reported as present, so a file can be imported again after a failure. Progress goes \
            to standard error, the summary to standard output. Exit status: 0 when every key is \
            imported or present, 1 when some were refused, 2 on a usage, I/O or storage error.
            """
    )

    @Argument(help: ArgumentHelp("The JSON Lines file; - reads standard input.", valueName: "file"))
    var file: String

    @Option(help: ArgumentHelp("A SQLite file, or PostgreSQL's postgresql://… URL or host=… dbname=… string.",
                               discussion: "Default: $KEYGATE_DATABASE, then keygate.sqlite."))
    var database: String?

    @OptionGroup var poolMode: PoolModeOption

    @Option(help: ArgumentHelp("The plan catalog.", discussion: "Default: $KEYGATE_CATALOG, then the shipped one."))
    var catalog: String?

    @Option(help: "Who the audit log names as having imported the keys.")
    var actor = "import"

    @Option(help: "The language of refusal messages (en, pl, de).")
    var language: String?

    @Option(help: "table (for a person) or json (for a pipeline).")
    var format: OutputFormat = .table

    /// Keys per call, one transaction each: large enough that a commit's
    /// cost is shared, small enough that a failure loses little.
    static let batchSize = 500
    /// Refusals listed one by one on standard error; the rest are counted.
    static let listedRefusals = 100

    func validate() throws {
        // Once, before the lines: it was found on each line instead, every
        // key of the file refused with the same invalid_actor.
        guard KeyValidator.isValidActor(actor) else {
            throw ValidationError("--actor must be 1 to \(KeyRules.maximumActorLength) visible characters")
        }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let catalogURL: URL
        let translations: URL
        do {
            catalogURL = try ShippedResources.catalog(named: catalog ?? environment["KEYGATE_CATALOG"])
            translations = try ShippedResources.translations(named: nil, otherwise: nil)
        } catch {
            StandardError.write("keygate import: \(error)")
            throw ExitCode.operationFailed
        }
        let databasePath = Database.named(database)
        if let reason = Database.refusal(of: databasePath) {
            StandardError.write("keygate import: \(reason)")
            throw ExitCode.operationFailed
        }
        let plans: PlanCatalog
        let localizer: Localizer
        let storage: any KeygateStorage
        do {
            plans = try PlanCatalog.load(contentsOf: catalogURL)
            localizer = try Localizer.load(directory: translations, logger: Logger(label: "keygate.import"))
        } catch {
            StandardError.write("keygate import: \(error)")
            throw ExitCode.operationFailed
        }
        if let language, let refusal = localizer.refusal(ofLanguage: language, givenAs: "--language") {
            StandardError.write("keygate import: \(refusal)")
            throw ExitCode.operationFailed
        }
        let text: Data
        do {
            text = file == "-" ? try InputFile.standardInput() : try InputFile.contents(of: file)
        } catch {
            StandardError.write("keygate import: \(error)")
            throw ExitCode.operationFailed
        }
        if let warning = Database.passwordWarning(option: database) { StandardError.write("keygate import: warning: \(warning)") }
        do {
            storage = try Database.open(databasePath, rules: KeyRules(catalog: plans), freshness: "strict", rateLimitOutage: nil,
                                         poolMode: poolMode.resolved)
        } catch {
            StandardError.write("keygate import: \(StartupFailure.describe(error, database: Database.displayName(databasePath)))")
            throw ExitCode.operationFailed
        }
        let service = KeygateService(catalog: plans, storage: storage)
        let lines = ImportLines(localizer: localizer, catalog: plans, language: language)

        var report = ImportReport()
        var progress = Progress(total: text.count)
        var batch: [(line: Int, request: ImportKeyRequest)] = []
        func send() throws {
            guard !batch.isEmpty else { return }
            let requests = batch.map(\.request)
            let outcomes: [KeyImport]
            switch Result(catching: { () throws(ServiceError) in try service.importKeys(requests) }) {
            case .success(let answered): outcomes = answered
            case .failure(let error):
                progress.finish()
                let refusal = lines.refusal(error)
                // The database's own words, where the store kept them for the operator.
                let detail = error.parameters["detail"].map { ": \($0)" } ?? ""
                StandardError.write("""
                    keygate import: stopped at line \(batch[0].line): \(refusal.message) (\(refusal.code)\(detail)). \
                    Keys before it are imported; import the file again to go on (they will be reported as present).
                    """)
                report.print(format: format)
                throw ExitCode.operationFailed
            }
            for ((line, _), outcome) in zip(batch, outcomes) {
                switch outcome {
                case .imported: report.imported += 1
                case .alreadyPresent: report.present += 1
                case .refused(let error): report.refuse(line: line, lines.refusal(error))
                }
            }
            batch.removeAll(keepingCapacity: true)
        }

        var lineNumber = 0
        var offset = 0
        for line in text.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false) {
            lineNumber += 1
            offset += line.count + 1
            // Blank lines are skipped; the JSON parser takes the spaces around a line.
            guard line.contains(where: { $0 != UInt8(ascii: " ") && $0 != UInt8(ascii: "\t") && $0 != UInt8(ascii: "\r") })
            else { continue }
            switch lines.request(String(decoding: line, as: UTF8.self), actor: actor) {
            case .success(let request): batch.append((lineNumber, request))
            case .failure(let refusal): report.refuse(line: lineNumber, refusal)
            }
            if batch.count == Self.batchSize {
                try send()
                progress.update(done: offset, report)
            }
        }
        try send()
        progress.finish()
        report.print(format: format)
        if !report.refusals.isEmpty { throw ExitCode(1) }
    }
}

/// What an import did, line by line where it refused.
struct ImportReport {
    var imported = 0
    var present = 0
    var refusals: [(line: Int, refusal: ImportLines.Refusal)] = []

    mutating func refuse(line: Int, _ refusal: ImportLines.Refusal) {
        if refusals.count < ImportCommand.listedRefusals {
            StandardError.write("line \(line): \(refusal.code): \(refusal.message)")
        }
        refusals.append((line, refusal))
    }

    /// Refusals counted by code, the most frequent first.
    var byCode: [(code: String, count: Int)] {
        Dictionary(grouping: refusals, by: \.refusal.code).map { ($0.key, $0.value.count) }
            .sorted { $0.count != $1.count ? $0.count > $1.count : $0.code < $1.code }
    }

    func print(format: OutputFormat) {
        // Lines refused as read come before those refused by their batch.
        let refusals = refusals.sorted { $0.line < $1.line }
        switch format {
        case .table:
            if refusals.count > ImportCommand.listedRefusals {
                StandardError.write("… and \(refusals.count - ImportCommand.listedRefusals) more refused lines")
            }
            var table = TextTable(header: ["", "keys"])
            table.add("imported", "\(imported)")
            table.add("already present", "\(present)")
            table.add("refused", "\(refusals.count)")
            for (code, count) in byCode { table.add("  \(code)", "\(count)") }
            StandardOutput.write(table.rendered)
        case .json:
            let json: JSON = [
                "imported": .integer(imported), "alreadyPresent": .integer(present),
                "refused": .object(byCode.map { ($0.code, JSON.integer($0.count)) }),
                "refusals": .array(refusals.map { ["line": .integer($0.line), "code": .string($0.refusal.code),
                                                   "message": .string($0.refusal.message)] }),
            ]
            StandardOutput.write(json.text)
        }
    }
}

/// Progress on standard error: redrawn in place on a terminal, a line
/// every tenth of the file otherwise (a log keeps them all).
struct Progress {
    let total: Int
    private let terminal = isatty(STDERR_FILENO) == 1
    private var lastTenth = 0
    private var drawn = false
    private let started = ContinuousClock.now

    init(total: Int) {
        self.total = max(total, 1)
    }

    mutating func update(done: Int, _ report: ImportReport) {
        let percent = min(100, done * 100 / total)
        let line = "\(percent)%: \(report.imported) imported, \(report.present) present, \(report.refusals.count) refused"
        if terminal {
            StandardError.write(bytes: Array(("\r" + line + "   ").utf8))
            drawn = true
        } else if percent / 10 > lastTenth {
            lastTenth = percent / 10
            StandardError.write(line)
        }
    }

    mutating func finish() {
        if drawn { StandardError.write(bytes: Array("\n".utf8)) }
        drawn = false
        let elapsed = ContinuousClock.now - started
        StandardError.write("done in \(elapsed.formatted(.units(allowed: [.seconds, .milliseconds], width: .narrow)))")
    }
}
