import ArgumentParser
import Foundation

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
}
