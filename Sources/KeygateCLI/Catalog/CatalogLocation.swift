import ArgumentParser
import Foundation
import PlanCatalog

/// The catalog a command works on: the path given, else `KEYGATE_CATALOG`,
/// else the catalog shipped inside Keygate (`Plans/plans.xml`).
struct CatalogLocation: ParsableArguments {
    @Argument(
        help: ArgumentHelp(
            "The catalog file.",
            discussion: "Defaults to $KEYGATE_CATALOG, then the shipped Plans/plans.xml.",
            valueName: "path"
        ))
    var path: String?

    /// The catalog's path, or, when the shipped one is missing, a message
    /// on stderr and a failure.
    private func resolvedPath() throws -> String {
        do {
            return try ShippedResources.catalog(named: path ?? ProcessInfo.processInfo.environment["KEYGATE_CATALOG"]).path
        } catch {
            StandardError.write("keygate catalog: \(error)")
            throw ExitCode.failure
        }
    }

    /// Loads the catalog, or prints every problem to stderr and fails.
    func load() throws -> PlanCatalog {
        try loadWithPath().catalog
    }

    /// Loads the catalog and says which file it was (the path resolved once).
    func loadWithPath() throws -> (catalog: PlanCatalog, path: String) {
        let resolvedPath = try resolvedPath()
        do {
            return (try PlanCatalog.load(contentsOf: URL(filePath: resolvedPath)), resolvedPath)
        } catch {
            StandardError.write(error.description)
            let count = error.problems.count
            StandardError.write("\(resolvedPath): refused, \(count) problem\(count == 1 ? "" : "s")")
            throw ExitCode.failure
        }
    }
}
