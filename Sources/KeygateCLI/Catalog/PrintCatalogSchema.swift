import ArgumentParser
import PlanCatalog

struct PrintCatalogSchema: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "schema",
        abstract: "Print the XSD that catalogs are checked against.",
        discussion: "Plans/plans.xsd is this text: `keygate catalog schema > Plans/plans.xsd`."
    )

    func run() {
        StandardOutput.write(PlanCatalog.schema)
    }
}
