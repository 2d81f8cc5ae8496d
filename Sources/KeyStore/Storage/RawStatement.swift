import Foundation
import GRDB
import GRDBSQLite

/// A statement prepared through SQLite's own API, bound by position and
/// stepped in place, its columns read without copying a row: for the
/// statements run thousands of times a second (verification's look-ups,
/// a flush's rows). Through GRDB the same statement also builds an
/// arguments array, a cursor and a row, which cost as much as SQLite's own
/// work on such small statements (docs/PERFORMANCE.md). Its owner
/// serializes the use of its connection.
struct RawStatement {
    let handle: OpaquePointer

    /// SQLITE_TRANSIENT (the C macro is not imported): SQLite copies the bytes.
    private static let transient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

    func index(_ name: String) -> Int32 {
        sqlite3_bind_parameter_index(handle, name)
    }

    func bind(_ index: Int32, text: String) -> Int32 {
        var text = text
        return text.withUTF8 { bytes in
            sqlite3_bind_text(handle, index, bytes.baseAddress, Int32(bytes.count), Self.transient)
        }
    }

    /// Binds `text`, or NULL.
    func bind(_ index: Int32, text: String?) -> Int32 {
        guard let text else { return sqlite3_bind_null(handle, index) }
        return bind(index, text: text)
    }

    func bind(_ index: Int32, int: Int64) -> Int32 {
        sqlite3_bind_int64(handle, index, int)
    }

    /// Binds `int`, or NULL.
    func bind(_ index: Int32, int: Int64?) -> Int32 {
        guard let int else { return sqlite3_bind_null(handle, index) }
        return sqlite3_bind_int64(handle, index, int)
    }

    func bind(_ index: Int32, blob: UnsafeRawBufferPointer) -> Int32 {
        sqlite3_bind_blob(handle, index, blob.baseAddress, Int32(blob.count), Self.transient)
    }

    /// Steps once: `true` for a row, `false` when done.
    func step() throws(SQLiteFailure) -> Bool {
        switch sqlite3_step(handle) {
        case SQLITE_ROW: true
        case SQLITE_DONE: false
        case let code: throw SQLiteFailure(code: code)
        }
    }

    func text(_ column: Int32) -> String {
        guard let bytes = sqlite3_column_text(handle, column) else { return "" }
        return String(decoding: UnsafeBufferPointer(start: bytes, count: Int(sqlite3_column_bytes(handle, column))),
                      as: UTF8.self)
    }

    /// The column's text, or `nil` where it is NULL.
    func optionalText(_ column: Int32) -> String? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : text(column)
    }

    func int(_ column: Int32) -> Int64? {
        sqlite3_column_type(handle, column) == SQLITE_NULL ? nil : sqlite3_column_int64(handle, column)
    }

    func time(_ column: Int32) -> Date? {
        int(column).map(StorageCoding.date)
    }

    /// Binds with `bind` and hands the statement to `read`, which steps
    /// it; resets it after, whatever happened, so that no statement is left
    /// stepped (holding a read transaction of its own) or bound.
    func use<T>(_ bind: (RawStatement) -> Int32, read: (RawStatement) throws(SQLiteFailure) -> T) throws(SQLiteFailure) -> T {
        defer {
            sqlite3_reset(handle)
            sqlite3_clear_bindings(handle)
        }
        let bound = bind(self)
        guard bound == SQLITE_OK else { throw SQLiteFailure(code: bound) }
        return try read(self)
    }

    /// The first result code of several binds that is not SQLITE_OK.
    static func firstFailure(_ codes: Int32...) -> Int32 {
        codes.first { $0 != SQLITE_OK } ?? SQLITE_OK
    }
}

/// A SQLite result code from a ``RawStatement``.
struct SQLiteFailure: Error {
    let code: Int32
}

extension Database {
    /// `sql` from this connection's statement cache (GRDB's, which
    /// finalizes it with the connection), to run through SQLite's API:
    /// prepared once per connection, and looked up once per loop by a
    /// caller that runs it for many rows.
    func statement(cached sql: String) throws -> RawStatement {
        RawStatement(handle: try cachedStatement(sql: sql).sqliteStatement)
    }

    /// Binds `statement` with `bind` and hands it to `read`, which steps
    /// it; resets it after.
    func query<T>(_ statement: RawStatement, _ bind: (RawStatement) -> Int32,
                  read: (RawStatement) throws(SQLiteFailure) -> T) throws -> T {
        do {
            return try statement.use(bind, read: read)
        } catch {
            throw failure(error.code, statement)
        }
    }

    /// Binds `statement` with `bind`, steps it to the end and resets it:
    /// one write. Returns the first column of its first row (a RETURNING
    /// clause), if it has one.
    @discardableResult
    func run(_ statement: RawStatement, _ bind: (RawStatement) -> Int32) throws -> Int64? {
        try query(statement, bind) { (statement) throws(SQLiteFailure) -> Int64? in
            guard try statement.step() else { return nil }
            let first = statement.int(0)
            while try statement.step() {}
            return first
        }
    }

    /// ``query(_:_:read:)`` with `sql` from this connection's statement
    /// cache (GRDB's): for the statements each command runs, which through
    /// GRDB's arguments and rows cost a creation about as much as its own
    /// look-ups (docs/PERFORMANCE.md).
    func query<T>(cached sql: String, _ bind: (RawStatement) -> Int32,
                  read: (RawStatement) throws(SQLiteFailure) -> T) throws -> T {
        try query(statement(cached: sql), bind, read: read)
    }

    /// ``run(_:_:)`` with `sql` from this connection's statement cache.
    @discardableResult
    func run(cached sql: String, _ bind: (RawStatement) -> Int32) throws -> Int64? {
        try run(statement(cached: sql), bind)
    }

    private func failure(_ code: Int32, _ statement: RawStatement) -> DatabaseError {
        DatabaseError(resultCode: ResultCode(rawValue: code), message: lastErrorMessage,
                      sql: sqlite3_sql(statement.handle).map { String(cString: $0) })
    }
}
