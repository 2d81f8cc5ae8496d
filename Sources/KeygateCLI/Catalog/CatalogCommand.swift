import ArgumentParser

struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Check and show a plan catalog.",
        subcommands: [ValidateCatalog.self, ShowCatalog.self, PrintCatalogSchema.self]
    )
}
