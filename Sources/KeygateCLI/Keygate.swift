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

    /// The commands whose status 1 means something other than a failure
    /// (live keys found, keys refused, a split): they report a usage error,
    /// and output they could not write, with status 2, as a CI job, a
    /// pre-commit hook or a backup script expects.
    private static let operatorCommands: Set = ["scan", "import", "backup", "restore", "status", "migrate"]

    /// As ArgumentParser's, except that the operator commands fail with
    /// status 2, help and messages go out through ``StandardOutput`` and
    /// ``StandardError`` (which wait for a non-blocking pipe), and output
    /// that could not be written is reported and fails the command.
    static func main() {
        StandardDescriptors.occupyClosed()
        let name = CommandLine.arguments.dropFirst().first.flatMap { first in
            configuration.subcommands.contains { $0.configuration.commandName == first } ? first : nil
        }
        let isOperatorCommand = name.map(operatorCommands.contains) ?? false
        var status: Int32
        do {
            var command = try parseAsRoot()
            try command.run()
            status = EXIT_SUCCESS
        } catch {
            let code = exitCode(for: error)
            let message = fullMessage(for: error)
            if code == .success {
                if !message.isEmpty { StandardOutput.write(message) }
            } else if !message.isEmpty {
                StandardError.write(message)
            }
            status = isOperatorCommand && code == .validationFailure ? ExitCode.operationFailed.rawValue : code.rawValue
        }
        if let reason = StandardOutput.lost {
            StandardError.write("keygate\(name.map { " " + $0 } ?? ""): cannot write to stdout: \(reason)")
            // Lost output outweighs what an operator command's status 1
            // would have said (live keys found): the findings went unread.
            status = isOperatorCommand ? ExitCode.operationFailed.rawValue : (status == EXIT_SUCCESS ? EXIT_FAILURE : status)
        }
        Foundation.exit(status)
    }
}
