import ArgumentParser
import PlanCatalog

struct ShowCatalog: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Print a catalog's plans side by side."
    )

    @OptionGroup var location: CatalogLocation

    func run() throws {
        let catalog = try location.load()
        StandardOutput.write(CatalogSummary(catalog: catalog).table().rendered, terminator: "")
    }
}
