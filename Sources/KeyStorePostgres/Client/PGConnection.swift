import CLibPQ
import Foundation

/// A value bound to a statement parameter. Text travels as text and
/// PostgreSQL casts it to the column's type; bytes travel in binary.
enum PGValue {
    case text(String)
    case integer(Int64)
    case bytes([UInt8])
    case null
}

extension PGValue: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByNilLiteral {
    init(stringLiteral value: String) { self = .text(value) }
    init(integerLiteral value: Int64) { self = .integer(value) }
    init(nilLiteral: ()) { self = .null }

    static func of(_ value: String?) -> PGValue { value.map(PGValue.text) ?? .null }
    static func of(_ value: Int64?) -> PGValue { value.map(PGValue.integer) ?? .null }
    static func of(_ value: Int) -> PGValue { .integer(Int64(value)) }
}

/// What went wrong talking to PostgreSQL: the server's SQLSTATE when it
/// answered, and whether the connection itself is gone.
struct PGError: Error, CustomStringConvertible {
    /// Five characters (`23505` unique violation, `40001` serialization
    /// failure, `08006` connection failure…); empty when the server never answered.
    let sqlState: String
    let message: String
    let connectionLost: Bool

    var description: String { "\(sqlState.isEmpty ? "connection" : sqlState): \(message)" }

    var isUniqueViolation: Bool { sqlState == "23505" }
}

/// One libpq connection. Not safe to share: whoever takes it from the
/// pool (``PGPool``) has it alone until it gives it back.
final class PGConnection: @unchecked Sendable {
    // @unchecked: one owner at a time, handed over under the pool's lock.
    private let handle: OpaquePointer
    /// Statements prepared on this connection, by their SQL.
    private var prepared: [String: String] = [:]

    /// Connects; throws with libpq's message when the server cannot be
    /// reached or refuses (the message never contains the password).
    init(conninfo: String) throws(PGError) {
        guard let handle = PQconnectdb(conninfo) else {
            throw PGError(sqlState: "", message: "out of memory", connectionLost: true)
        }
        self.handle = handle
        // Thrown with every property set, the deinitializer closes the handle.
        guard PQstatus(handle) == CONNECTION_OK else {
            throw PGError(sqlState: "", message: Self.message(handle), connectionLost: true)
        }
        // Keygate's notices (a NOTICE from a migration's IF NOT EXISTS) are
        // not stderr's business.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit {
        PQfinish(handle)
    }

    var isHealthy: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Whether the connection is inside a transaction block (`BEGIN` ran
    /// and neither `COMMIT` nor `ROLLBACK` yet).
    var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR
    }

    /// Re-establishes a broken connection; prepared statements are gone with it.
    func reset() -> Bool {
        prepared.removeAll()
        PQreset(handle)
        return isHealthy
    }

    /// The server process's id, for tests that cut a connection.
    var backendPID: Int32 { PQbackendPID(handle) }

    /// The socket, for waiting on notifications.
    var socket: Int32 { PQsocket(handle) }

    /// Runs `body` in a transaction, committed when it returns, rolled back
    /// when it throws.
    func inTransaction<T>(_ body: () throws -> T) throws -> T {
        try execute("BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            if inTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Runs `body` in a savepoint of the transaction in progress: what it
    /// wrote is kept only if it returns.
    func inSavepoint<T>(_ name: String, _ body: () throws -> T) throws -> T {
        try execute("SAVEPOINT \(name)")
        do {
            let result = try body()
            try execute("RELEASE SAVEPOINT \(name)")
            return result
        } catch {
            try? execute("ROLLBACK TO SAVEPOINT \(name)")
            try? execute("RELEASE SAVEPOINT \(name)")
            throw error
        }
    }

    /// Runs SQL without parameters: one or several statements (a migration,
    /// `BEGIN`, `LISTEN`).
    func execute(_ sql: String) throws(PGError) {
        let result = PQexec(handle, sql)
        defer { PQclear(result) }
        try check(result)
    }

    /// Runs one statement with parameters, prepared once per connection
    /// and reused by its SQL text.
    @discardableResult
    func query(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        let name: String
        if let known = prepared[sql] {
            name = known
        } else {
            name = "k\(prepared.count)"
            let result = PQprepare(handle, name, sql, Int32(parameters.count), nil)
            defer { PQclear(result) }
            try check(result)
            prepared[sql] = name
        }
        // Every parameter's bytes in one buffer (text NUL-terminated), and
        // where each starts; `nil` for SQL NULL.
        var storage: [UInt8] = []
        var offsets: [Int?] = []
        var lengths = [Int32](repeating: 0, count: parameters.count)
        var formats = [Int32](repeating: 0, count: parameters.count)
        for (index, value) in parameters.enumerated() {
            switch value {
            case .null:
                offsets.append(nil)
            case .text(let text):
                offsets.append(storage.count)
                storage += text.utf8
                storage.append(0)
            case .integer(let number):
                offsets.append(storage.count)
                storage += String(number).utf8
                storage.append(0)
            case .bytes(let bytes):
                offsets.append(storage.count)
                storage += bytes
                lengths[index] = Int32(bytes.count)
                formats[index] = 1
            }
        }
        storage.append(0)
        let result: OpaquePointer? = storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            let pointers: [UnsafePointer<CChar>?] = offsets.map { $0.map { base + $0 } }
            return PQexecPrepared(handle, name, Int32(parameters.count), pointers, lengths, formats, 0)
        }
        do {
            try check(result)
        } catch {
            PQclear(result)
            throw error
        }
        return PGResult(result!)
    }

    /// The notifications received so far (after ``consumeInput()``).
    func notifications() -> [(channel: String, payload: String)] {
        var received: [(String, String)] = []
        while let notify = PQnotifies(handle) {
            received.append((String(cString: notify.pointee.relname), String(cString: notify.pointee.extra)))
            PQfreemem(notify)
        }
        return received
    }

    /// Reads what the server sent without blocking; false when the connection broke.
    func consumeInput() -> Bool {
        PQconsumeInput(handle) == 1
    }

    private func check(_ result: OpaquePointer?) throws(PGError) {
        guard let result else {
            throw PGError(sqlState: "", message: Self.message(handle), connectionLost: !isHealthy)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            let primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
            throw PGError(sqlState: state, message: primary ?? Self.message(handle),
                          connectionLost: !isHealthy || state.hasPrefix("08") || state == "57P01")
        }
    }

    private static func message(_ handle: OpaquePointer) -> String {
        String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A query's rows, read in text format.
final class PGResult {
    private let result: OpaquePointer

    init(_ result: OpaquePointer) {
        self.result = result
    }

    deinit {
        PQclear(result)
    }

    var count: Int { Int(PQntuples(result)) }
    /// Rows a command changed (`UPDATE`, `DELETE`, `INSERT`).
    var changed: Int { Int(String(cString: PQcmdTuples(result))) ?? 0 }

    func isNull(_ row: Int, _ column: Int) -> Bool {
        PQgetisnull(result, Int32(row), Int32(column)) == 1
    }

    func string(_ row: Int, _ column: Int) -> String? {
        guard !isNull(row, column), let value = PQgetvalue(result, Int32(row), Int32(column)) else { return nil }
        return String(cString: value)
    }

    func int64(_ row: Int, _ column: Int) -> Int64? {
        string(row, column).flatMap { Int64($0) }
    }

    func int(_ row: Int, _ column: Int) -> Int? {
        int64(row, column).map(Int.init)
    }

    func bool(_ row: Int, _ column: Int) -> Bool? {
        string(row, column).map { $0 == "t" }
    }

    /// A `bytea` column, which text format sends as `\x` and hex digits.
    func bytes(_ row: Int, _ column: Int) -> [UInt8]? {
        guard let text = string(row, column) else { return nil }
        let digits = Array(text.utf8.dropFirst(2))
        func nibble(_ byte: UInt8) -> UInt8 { byte <= 57 ? byte - 48 : (byte | 0x20) - 87 }
        return stride(from: 0, to: digits.count - 1, by: 2).map { nibble(digits[$0]) << 4 | nibble(digits[$0 + 1]) }
    }
}
