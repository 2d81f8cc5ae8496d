import ArgumentParser
import Foundation
import KeygateRPC

@main
struct Keygate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygate",
        abstract: "Plan-gated API keys for SaaS products.",
        version: KeygateVersion.current,
        subcommands: [ServeCommand.self, CatalogCommand.self, ScanCommand.self, ImportCommand.self]
    )

    /// As ArgumentParser's, except that `scan` reports a usage error with
    /// status 2, as a CI job or a pre-commit hook expects of a scanner.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if ["scan", "import"].contains(CommandLine.arguments.dropFirst().first), exitCode(for: error) == .validationFailure {
                StandardError.write(fullMessage(for: error))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}
