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

    var resolvedPath: String {
        path ?? ProcessInfo.processInfo.environment["KEYGATE_CATALOG"] ?? PlanCatalog.shippedCatalog.path
    }

    /// Loads the catalog, or prints every problem to stderr and fails.
    func load() throws -> PlanCatalog {
        do {
            return try PlanCatalog.load(contentsOf: URL(filePath: resolvedPath))
        } catch {
            StandardError.write(error.description)
            let count = error.problems.count
            StandardError.write("\(resolvedPath): refused, \(count) problem\(count == 1 ? "" : "s")")
            throw ExitCode.failure
        }
    }
}
