import ArgumentParser

@main
struct Keygate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygate",
        abstract: "Plan-gated API keys for SaaS products.",
        subcommands: [ServeCommand.self, CatalogCommand.self]
    )
}
