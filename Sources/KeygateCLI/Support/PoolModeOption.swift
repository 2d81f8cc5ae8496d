import ArgumentParser
import Foundation
import KeyStorePostgres

/// `--pool-mode`, for every command that may open a PostgreSQL database.
struct PoolModeOption: ParsableArguments {
    @Option(name: .customLong("pool-mode"), help: ArgumentHelp(
        "On PostgreSQL, what the connection string reaches: session or transaction.",
        discussion: """
            session (default): the server, or a pooler in session mode; statements are prepared once per \
            connection. transaction: a pooler that lends a server connection per transaction (PgBouncer's \
            pool_mode = transaction); statements are sent unnamed, and freshness defaults to polled \
            (notified is refused). Default: $KEYGATE_POOL_MODE, then session.
            """))
    var value: String?

    /// The option, else the environment's `KEYGATE_POOL_MODE`.
    var resolved: String? {
        value ?? ProcessInfo.processInfo.environment["KEYGATE_POOL_MODE"]
    }

    /// On every store, for every command that takes it: a word mistyped
    /// on SQLite would otherwise be found only on the move to PostgreSQL.
    func validate() throws {
        if let resolved, PostgresKeyStorage.PoolMode(rawValue: resolved) == nil {
            throw ValidationError(Self.refusal(resolved))
        }
    }

    static func refusal(_ word: String) -> String {
        "--pool-mode must be session or transaction, not '\(word)'"
    }
}
