import ArgumentParser
import KeygateRPC

@main
struct Keygate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygate",
        abstract: "Plan-gated API keys for SaaS products.",
        version: KeygateVersion.current,
        subcommands: [ServeCommand.self, CatalogCommand.self]
    )
}
