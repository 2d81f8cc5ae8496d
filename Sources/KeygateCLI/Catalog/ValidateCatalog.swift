import ArgumentParser
import PlanCatalog

struct ValidateCatalog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check a catalog against the schema and the catalog rules.",
        discussion: """
            Prints one line per plan and a last line with the catalog's digest (the first 16 hex \
            digits of its SHA-256, as keygate serve logs it) and exits 0, or prints every problem as \
            path:line:column: message to stderr and exits 1.
            """
    )

    @OptionGroup var location: CatalogLocation

    func run() throws {
        let (catalog, path) = try location.loadWithPath()
        let summary = CatalogSummary(catalog: catalog)
        let width = catalog.plans.map(\.id.rawValue.count).max() ?? 0
        for plan in catalog.plans {
            StandardOutput.write(plan.id.rawValue.padding(to: width) + "  " + summary.line(for: plan))
        }
        StandardOutput.write("\(path): valid; " + summary.totals + "; digest \(CatalogDigest.short(catalog.digest))")
    }
}
