import ArgumentParser
import Foundation
import KeyStore
import KeygateJSON
import PlanCatalog

/// `keygate scan`: where this product's keys appear in files, and whether
/// they are live; optionally revokes them.
struct ScanCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scan",
        abstract: "Find this product's keys in files, folders or standard input.",
        discussion: """
            A key is the catalog's format with a valid checksum, standing alone; look-alikes are \
            not reported. Only a key's hint is ever printed. Folders are read recursively (.git \
            folders skipped). With --database each key is looked up: live, expired, revoked or \
            unknown; with --revoke the live ones are revoked (actor "scanner", the place found as \
            the reason). A database that fails stops the look-ups: the keys looked up are reported \
            (revoked now, or still live), the others as not checked, then the error. Exit status: \
            1 when live keys were found (without --database: any key), 0 when none, 2 on a usage, \
            I/O or database error.
            """
    )

    @Argument(help: ArgumentHelp("Files or folders to read; none, or -, reads standard input.", valueName: "path"))
    var paths: [String] = []

    @Option(help: ArgumentHelp("The plan catalog, for the key format.", discussion: "Default: $KEYGATE_CATALOG, then the shipped one."))
    var catalog: String?

    @Option(help: ArgumentHelp("A database to look each key up in: a SQLite file, or PostgreSQL's postgresql://… URL or host=… dbname=… string."))
    var database: String?

    @OptionGroup var poolMode: PoolModeOption

    @Flag(help: "Revoke the live keys found (needs --database).")
    var revoke = false

    @Option(help: "table (for a person) or json (for a pipeline).")
    var format: OutputFormat = .table

    func validate() throws {
        if revoke, database == nil { throw ValidationError("--revoke needs --database") }
    }

    func run() throws {
        let environment = ProcessInfo.processInfo.environment
        // No default here: without --database, scan looks nothing up.
        let database = self.database.map { Database.named($0) }
        let catalogURL: URL
        do {
            catalogURL = try ShippedResources.catalog(named: catalog ?? environment["KEYGATE_CATALOG"])
        } catch {
            StandardError.write("keygate scan: \(error)")
            throw ExitCode.operationFailed
        }
        let plans: PlanCatalog
        do {
            plans = try PlanCatalog.load(contentsOf: catalogURL)
        } catch {
            StandardError.write(error.description)
            throw ExitCode.operationFailed
        }
        // A mistyped path once created an empty database there and found
        // every key unknown: exit 0, and the leaked keys left live.
        if let database, let reason = Database.refusal(of: database) {
            StandardError.write("keygate scan: \(reason)")
            throw ExitCode.operationFailed
        }
        if let database, let reason = Database.notKeygates(database) {
            StandardError.write("keygate scan: \(reason); --database names the one keygate serve uses")
            throw ExitCode.operationFailed
        }
        let rules = KeyRules(catalog: plans)
        let scanner = KeyScanner(format: rules.format)

        var sightings: [Sighting] = []
        do {
            for source in try sources() {
                for found in scanner.keys(in: try source.read()) {
                    sightings.append(Sighting(path: source.name, line: found.line, column: found.column, key: found.key))
                }
            }
        } catch {
            StandardError.write(error.description)
            throw ExitCode.operationFailed
        }

        if let database {
            if let warning = Database.passwordWarning(option: database) { StandardError.write("keygate scan: warning: \(warning)") }
            let storage: any KeygateStorage
            do {
                storage = try Database.open(database, rules: rules, freshness: "strict", rateLimitOutage: nil,
                                         poolMode: poolMode.resolved)
            } catch {
                StandardError.write("keygate scan: \(StartupFailure.describe(error, database: Database.displayName(database)))")
                throw ExitCode.operationFailed
            }
            let now = Date()
            for index in sightings.indices {
                do {
                    try sightings[index].lookUp(in: storage, at: now, revoking: revoke)
                } catch {
                    // The database failing, the rest is not looked up; but
                    // what was (with --revoke, which keys are revoked now)
                    // is reported before the error, not lost with it.
                    for rest in sightings.indices[(index + 1)...] { sightings[rest].status = Sighting.notChecked }
                    if sightings[index].status == nil { sightings[index].status = Sighting.notChecked }
                    report(sightings, checked: true)
                    StandardError.write("keygate scan: stopped at \(sightings[index].place.terminalSafe): "
                        + StartupFailure.describe(error, database: Database.displayName(database)))
                    throw ExitCode.operationFailed
                }
            }
        }

        report(sightings, checked: database != nil)
        let live = database == nil
            ? sightings.count : sightings.filter { $0.status == "live" || $0.status == "revoked now" }.count
        if live > 0 { throw ExitCode(1) }
    }

    /// Where text comes from: a file, or standard input.
    struct Source {
        let name: String
        let read: () throws(ScanFailure) -> [UInt8]
    }

    struct ScanFailure: Error, CustomStringConvertible {
        let description: String
    }

    func sources() throws(ScanFailure) -> [Source] {
        guard !paths.isEmpty, paths != ["-"] else {
            return [Source(name: "-") { () throws(ScanFailure) in
                do {
                    return Array(try InputFile.standardInput())
                } catch {
                    throw ScanFailure(description: "keygate scan: \(error)")
                }
            }]
        }
        var sources: [Source] = []
        let files = FileManager.default
        for path in paths {
            guard !path.isEmpty else { throw ScanFailure(description: "keygate scan: a path is empty; name a file or a folder") }
            var isFolder: ObjCBool = false
            guard files.fileExists(atPath: path, isDirectory: &isFolder) else {
                throw ScanFailure(description: "keygate scan: \(path.terminalSafe): no such file or folder")
            }
            guard isFolder.boolValue else {
                sources.append(Self.file(path))
                continue
            }
            // Paths under the folder as given, .git folders left out.
            guard let below = try? files.subpathsOfDirectory(atPath: path) else {
                throw ScanFailure(description: "keygate scan: \(path.terminalSafe): cannot be read")
            }
            let found = below.filter { subpath in
                !subpath.split(separator: "/").contains(".git")
            }.map { (path.hasSuffix("/") ? path : path + "/") + $0 }.filter { candidate in
                var isDirectory: ObjCBool = false
                return files.fileExists(atPath: candidate, isDirectory: &isDirectory) && !isDirectory.boolValue
            }
            sources += found.sorted().map(Self.file)
        }
        return sources
    }

    static func file(_ path: String) -> Source {
        Source(name: path) { () throws(ScanFailure) in
            do {
                return Array(try InputFile.contents(of: path))
            } catch {
                throw ScanFailure(description: "keygate scan: \(String(describing: error).terminalSafe)")
            }
        }
    }

    func report(_ sightings: [Sighting], checked: Bool) {
        switch format {
        case .table: printTable(sightings, checked: checked)
        case .json: printJSON(sightings)
        }
    }

    func printTable(_ sightings: [Sighting], checked: Bool) {
        var table = TextTable(header: checked ? ["where", "key", "status", "organization", "key id"] : ["where", "key"])
        for sighting in sightings {
            if checked {
                table.add(sighting.place, sighting.key.description, sighting.status ?? "", sighting.organizationId ?? "",
                          sighting.keyId ?? "")
            } else {
                table.add(sighting.place, sighting.key.description)
            }
        }
        if !sightings.isEmpty { StandardOutput.write(table.rendered) }
        let live = sightings.filter { $0.status == "live" }.count
        let revoked = sightings.filter { $0.status == "revoked now" }.count
        var summary = "\(sightings.count) key\(sightings.count == 1 ? "" : "s") found"
        if checked { summary += ": \(live) live, \(revoked) revoked now" }
        let unchecked = sightings.filter { $0.status == Sighting.notChecked }.count
        if unchecked > 0 { summary += ", \(unchecked) not checked" }
        StandardError.write(summary)
    }

    func printJSON(_ sightings: [Sighting]) {
        let array = JSON.array(sightings.map { sighting in
            var object: [(String, JSON)] = [
                ("path", .string(sighting.path)), ("line", .integer(sighting.line)), ("column", .integer(sighting.column)),
                ("hint", .string(sighting.key.description)),
            ]
            if let status = sighting.status { object.append(("status", .string(status))) }
            if let organization = sighting.organizationId { object.append(("organizationId", .string(organization))) }
            if let keyId = sighting.keyId { object.append(("keyId", .string(keyId))) }
            return .object(object)
        })
        StandardOutput.write(array.text)
    }
}

/// A key found somewhere, and what the database says of it.
struct Sighting {
    let path: String
    let line: Int
    let column: Int
    let key: RawKey
    var status: String?
    var organizationId: String?
    var keyId: String?

    var place: String { "\(path):\(line):\(column)" }

    /// The status of a key not looked up: the database failed at it or
    /// before it.
    static let notChecked = "not checked"

    /// "found at PLACE", as a revocation's reason must be (printable, at
    /// most ``KeyRules/maximumReasonBytes`` bytes): the place escaped, and
    /// a deep path's start left out, since its end names the file.
    var revocationReason: String {
        let lead = "found at "
        let shown = place.terminalSafe
        let room = KeyRules.maximumReasonBytes - lead.utf8.count
        guard shown.utf8.count > room else { return lead + shown }
        var bytes = "…".utf8.count
        let tail = shown.reversed().prefix { character in
            bytes += character.utf8.count
            return bytes <= room
        }
        return lead + "…" + String(tail.reversed())
    }

    mutating func lookUp(in storage: any KeygateStorage, at now: Date, revoking: Bool) throws {
        guard case .found(let match) = try storage.find(secret: key.unredacted) else {
            status = "unknown"
            return
        }
        organizationId = match.key.organizationId
        keyId = match.key.id
        switch match.key.state(at: now) {
        case .revoked: status = "revoked"
        case .expired: status = "expired"
        case .live:
            status = "live"
            if revoking {
                _ = try storage.revoke(id: match.key.id, organizationId: match.key.organizationId, actor: "scanner",
                                       reason: revocationReason)
                status = "revoked now"
            }
        }
    }
}
