import Foundation
import KeygateTestSupport
import Testing

/// Processes on one database that load different plan catalogs answer the
/// same request differently; each of them says so in its log, and says
/// when the split is over.
@Suite("Processes that disagree on the catalog")
struct CatalogAgreementTests {
    /// Sweeps (and settings records) each second, and the debug line that
    /// says a record was made.
    static let arguments = ["--event-sweep-seconds", "1", "--log-level", "debug"]

    /// The catalog digest a server's `serving` line names.
    static func digest(of serve: ServeProcess) throws -> String {
        #expect(serve.logs("[KeygateCLI] serving"), "\(serve.stderr)")
        let match = try #require(serve.stderr.firstMatch(of: #/catalogDigest=([0-9a-f]{16}) /#), "\(serve.stderr)")
        return String(match.1)
    }

    /// How many times a server recorded its catalog, waiting up to 10 s
    /// for `count`.
    static func records(by serve: ServeProcess, reaching count: Int) -> Int {
        serve.logged("settings recorded", reaching: count)
    }

    @Test(arguments: Backend.available) func eachSideOfASplitSaysSoAndTheEndOfItIsSaid(_ backend: Backend) throws {
        let shipped = try ServeProcess(on: backend, arguments: Self.arguments)
        let twin = try ServeProcess(sharing: shipped, arguments: Self.arguments)
        // Two records each: each has recorded after the other's first.
        #expect(Self.records(by: shipped, reaching: 2) >= 2, "\(shipped.stderr)")
        #expect(Self.records(by: twin, reaching: 2) >= 2, "\(twin.stderr)")
        #expect(!shipped.stderr.contains("different plan catalog"), "\(shipped.stderr)")
        #expect(!twin.stderr.contains("different plan catalog"), "\(twin.stderr)")

        // The same catalog with one comment more: another file, another digest.
        let folder = try ScratchFolder.make("keygate-catalog")
        let edited = folder.appending(path: "plans.xml")
        var text = try String(contentsOf: ServeProcess.repository.appending(path: "Plans/plans.xml"), encoding: .utf8)
        text += "<!-- the next price list -->\n"
        try text.write(to: edited, atomically: true, encoding: .utf8)
        let other = try ServeProcess(sharing: shipped, arguments: Self.arguments + ["--catalog", edited.path])
        let shippedDigest = try Self.digest(of: shipped)
        let editedDigest = try Self.digest(of: other)
        #expect(shippedDigest != editedDigest)
        #expect(try Self.digest(of: twin) == shippedDigest)

        let warning = "another process on this database serves with a different plan catalog"
        #expect(other.logs(warning), "\(other.stderr)")
        #expect(other.stderr.contains("otherCatalogDigest=\(shippedDigest)"), "\(other.stderr)")
        #expect(shipped.logs("otherCatalogDigest=\(editedDigest)"), "\(shipped.stderr)")
        #expect(shipped.stderr.contains("otherCatalog=\(edited.path)"), "\(shipped.stderr)")
        #expect(shipped.stderr.contains("otherProcess=\(other.process.processIdentifier)"), "\(shipped.stderr)")
        // Said once while the split lasts, not at every record.
        #expect(Self.records(by: shipped, reaching: Self.records(by: shipped, reaching: 0) + 2) >= 4)
        #expect(shipped.stderr.components(separatedBy: warning).count - 1 == 1, "\(shipped.stderr)")

        // The process with the other catalog stops: three sweeps on, it is
        // no longer in use.
        #expect(other.finish() == 0)
        #expect(shipped.logs("every process on this database that recorded its plan catalog lately serves with this one"),
                "\(shipped.stderr)")
        #expect(twin.logs("every process on this database that recorded its plan catalog lately serves with this one"),
                "\(twin.stderr)")
        #expect(shipped.finish() == 0)
        #expect(twin.finish() == 0)
    }
}
