import ArgumentParser
import Foundation
import KeygateRPC

@main
struct Keygate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "keygate",
        abstract: "Plan-gated API keys for SaaS products.",
        version: KeygateVersion.current,
        subcommands: [ServeCommand.self, CatalogCommand.self, ScanCommand.self, ImportCommand.self, BackupCommand.self,
                      RestoreCommand.self, StatusCommand.self, MigrateCommand.self]
    )

    /// As ArgumentParser's, except that `scan`, `import`, `backup`,
    /// `restore`, `status` and `migrate` report a usage error with status 2, as a CI job, a
    /// pre-commit hook or a backup script expects: 1 means something else
    /// to them.
    static func main() {
        do {
            var command = try parseAsRoot()
            try command.run()
        } catch {
            if ["scan", "import", "backup", "restore", "status", "migrate"].contains(CommandLine.arguments.dropFirst().first),
               exitCode(for: error) == .validationFailure
            {
                StandardError.write(fullMessage(for: error))
                Foundation.exit(ExitCode.operationFailed.rawValue)
            }
            exit(withError: error)
        }
    }
}
