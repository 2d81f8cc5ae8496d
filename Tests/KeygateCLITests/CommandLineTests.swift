import Foundation
import GRDB
import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// The `keygate` commands other than `serve`'s protocol, as a person at a
/// terminal sees them.
@Suite("keygate on the command line")
struct CommandLineTests {
    struct Run {
        let status: Int32
        let output: String
        let errors: String
    }

    func keygate(_ arguments: String..., environment: [String: String] = [:]) throws -> Run {
        let process = Process()
        process.executableURL = ServeProcess.executable
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.currentDirectoryURL = ServeProcess.repository
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let out = output.fileHandleForReading.readDataToEndOfFile()
        let err = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Run(status: process.terminationStatus, output: String(decoding: out, as: UTF8.self),
                   errors: String(decoding: err, as: UTF8.self))
    }

    @Test func versionIsPrinted() throws {
        let run = try keygate("--version")
        #expect(run.status == 0)
        #expect(run.output.range(of: #"^\d+\.\d+\.\d+\n$"#, options: .regularExpression) != nil, "\(run.output)")
    }

    @Test func anUnknownLogLevelIsRefusedBeforeServing() throws {
        let run = try keygate("serve", "--log-level", "loud")
        #expect(run.status == 64)
        #expect(run.output.isEmpty)
        #expect(run.errors.contains("unknown log level 'loud'; use one of: trace, debug, info"))
        let skew = try keygate("serve", "--event-clock-skew", "100000")
        #expect(skew.status == 64 && skew.errors.contains("event clock skew"))
    }

    @Test func aCacheSizeOutsideItsRangeIsRefusedBeforeServing() throws {
        for size in ["0", "10000001"] {
            let run = try keygate("serve", "--cache-keys", size)
            #expect(run.status == 64)
            #expect(run.output.isEmpty)
            #expect(run.errors.contains("the cache size must be a whole number of keys from 1 to 10000000, not '\(size)'"))
        }
        let fromEnvironment = try keygate("serve", environment: ["KEYGATE_CACHE_KEYS": "many"])
        #expect(fromEnvironment.status == 64)
        #expect(fromEnvironment.errors.contains("the cache size must be a whole number of keys from 1 to 10000000, not 'many'"))
    }

    /// A database a newer Keygate migrated, as a rollback of a deployment
    /// leaves it: `keygate serve` stops at start, saying what to run,
    /// rather than serve a schema it does not know. On either store.
    @Test(arguments: Backend.available)
    func anOlderKeygateRefusesADatabaseANewerOneMigrated(_ backend: Backend) throws {
        let database: String
        switch backend {
        case .sqlite:
            database = try ScratchFolder.make("keygate-newer").appending(path: "keygate.sqlite").path
            try KeyDatabase.open(path: database).close()
            try DatabaseQueue(path: database).write { db in
                try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
            }
        case .postgres, .pooled:
            database = try Backend.freshPostgresSchema()
            try PostgresKeyStorage.migrate(url: database, upTo: .max)
            try PostgresKeyStorage.execute("INSERT INTO keygate_migration (version, name) VALUES (99, 'from the future')",
                                           url: database)
        }
        let run = try keygate("serve", "--database", database)
        #expect(run.status == 1)
        #expect(run.output.isEmpty)
        #expect(run.errors.contains("newer than this keygate knows"), "\(run.errors)")
        #expect(run.errors.contains("run a keygate at least as new as the one that migrated it"))
    }

    @Test func validateCountsInTheRightNumber() throws {
        let run = try keygate("catalog", "validate", "Plans/examples/booking-engine.xml")
        #expect(run.status == 0)
        #expect(run.output.contains("kinds widget, 1 capability,"), "\(run.output)")
        #expect(run.output.contains("2 capabilities"))
    }

    @Test func showListsACatalogsRoutesAndWhichPlansReachThem() throws {
        let run = try keygate("catalog", "show", "Plans/examples/link-platform.xml")
        #expect(run.status == 0)
        #expect(run.output.contains("Routes"))
        let route = try #require(run.output.split(separator: "\n").first { $0.contains("POST /api/partners → partnersWrite") })
        #expect(route.hasSuffix("yes") && route.contains("-"))
    }
}

@Suite("keygate outside a checkout")
struct OutsideACheckoutTests {
    /// The catalog and translations come from inside the build, not from
    /// the working directory.
    @Test func serveRunsFromAnyFolderWithTheShippedCatalogAndTranslations() throws {
        let folder = try ScratchFolder.make("keygate-elsewhere")
        let serve = try ServeProcess(database: folder.appending(path: "k.sqlite"), workingDirectory: folder)
        let plans = try serve.result("catalog.plans")
        #expect(plans["defaultPlan"] as? String == "free")
        let reply = try serve.call("keys.create", ["organizationId": "org_1", "name": "n", "kind": "owner_integration",
                                                   "capabilities": ["booking.read"], "locale": "pl"])
        #expect(((reply["error"] as? [String: Any])?["message"] as? String)?.contains("Pro") == true)
        #expect(serve.finish() == 0)
    }

    /// An executable installed without the resource bundles beside it says
    /// what is missing and what to do instead, and stops. (It crashed with
    /// SwiftPM's fatal error, except on the machine that built it, where
    /// it quietly read the build folder.) Told where the catalog and the
    /// translations are, or installed with the bundles, it serves.
    @Test func anExecutableInstalledWithoutItsResourceBundlesSaysWhatIsMissing() throws {
        let folder = try ScratchFolder.make("keygate-installed")
        let installed = folder.appending(path: "keygate")
        try FileManager.default.copyItem(at: ServeProcess.executable, to: installed)
        let database = folder.appending(path: "k.sqlite").path
        let request = #"{"jsonrpc":"2.0","id":1,"method":"catalog.plans"}"# + "\n"
        func keygate(_ arguments: [String], input: String? = nil) throws -> CommandRun {
            try CommandRun(arguments, in: folder, input: input, executable: installed)
        }
        let missing = "the shipped plan catalog is missing: Keygate_PlanCatalog.resources is not beside the executable in "
            + "\(folder.path); install it with the executable"

        let serve = try keygate(["serve", "--database", database], input: request)
        #expect(serve.status == 1 && serve.output.isEmpty)
        #expect(serve.errors.contains("keygate serve cannot start: \(missing), or name a catalog with --catalog or KEYGATE_CATALOG"),
                "\(serve.errors)")
        let scan = try keygate(["scan", folder.path])
        #expect(scan.status == 2 && scan.errors.contains("keygate scan: \(missing)"), "\(scan.errors)")
        let validate = try keygate(["catalog", "validate"])
        #expect(validate.status == 1 && validate.errors.contains("keygate catalog: \(missing)"), "\(validate.errors)")

        let named = try keygate(["serve", "--database", database,
                                 "--catalog", ServeProcess.repository.appending(path: "Plans/plans.xml").path,
                                 "--localization", ServeProcess.repository.appending(path: "Localization").path],
                                input: request)
        #expect(named.status == 0 && named.output.contains(#""defaultPlan":"free""#), "\(named.errors)")

        for bundle in ["Keygate_PlanCatalog.resources", "Keygate_KeygateLocalization.resources"] {
            try FileManager.default.copyItem(at: ServeProcess.executable.deletingLastPathComponent().appending(path: bundle),
                                             to: folder.appending(path: bundle))
        }
        let bundled = try keygate(["serve", "--database", database], input: request)
        #expect(bundled.status == 0 && bundled.output.contains(#""defaultPlan":"free""#), "\(bundled.errors)")
    }
}
