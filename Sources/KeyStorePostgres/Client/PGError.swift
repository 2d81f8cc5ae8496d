/// What went wrong talking to PostgreSQL: the server's SQLSTATE when it
/// answered, and whether the connection itself is gone.
struct PGError: Error, CustomStringConvertible {
    /// Five characters (`23505` unique violation, `40001` serialization
    /// failure, `08006` connection failure…); empty when the server never answered.
    let sqlState: String
    let message: String
    let connectionLost: Bool
    /// The server did not answer within the connection's
    /// ``PGConnection/answerTimeout``: the statement was canceled (the
    /// connection still usable), or, where even that went unanswered, the
    /// connection closed (``connectionLost`` too).
    var timedOut = false

    var description: String { "\(sqlState.isEmpty ? "connection" : sqlState): \(message)" }

    /// Neither the statement's answer nor its cancellation came: the server
    /// is stopped or stuck, not merely slow (``PGConnection/answerTimeout``).
    var unanswered: Bool { timedOut && connectionLost }

    var isUniqueViolation: Bool { sqlState == "23505" }

    /// `lock_not_available`: a lock wait ran past `lock_timeout`.
    static let lockNotAvailable = "55P03"

    /// `invalid_sql_statement_name`: a prepared statement the session does not have.
    static let unknownStatement = "26000"

    /// `insufficient_privilege`: the user may not do what the statement does.
    static let insufficientPrivilege = "42501"

    /// `invalid_schema_name`: no schema of the `search_path` is one the
    /// user may use, so there is none to create in.
    static let invalidSchemaName = "3F000"
}
