import CLibPQ
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// One libpq connection. Not safe to share: whoever takes it from the
/// pool (``PGPool``) has it alone until it gives it back.
///
/// A statement whose answer nobody reads (`SAVEPOINT`, `RELEASE`, an
/// `INSERT` of an audit entry) can be queued with ``send(_:_:)``: it goes
/// to the server with the next statement that needs an answer, in one
/// pipeline (libpq's pipeline mode), and its error, if any, is thrown
/// there. A command's writes then cost the round trips of its reads and
/// one more, not one per statement (docs/PERFORMANCE.md).
///
/// Each round trip waits at most ``answerTimeout`` for the server's
/// answer. Past it the server is asked to cancel the statement, which
/// fails then (`57014`) and leaves the connection as it would any failed
/// statement; a server that does not answer that either within
/// ``cancelGrace`` (stopped, or stuck: its kernel still acknowledges what
/// is sent, so no TCP timeout ever fires) has the connection shut down.
/// Either way the error is ``PGError/timedOut``.
///
/// Statements are prepared once per connection and kept, under names no
/// other connection uses, unless `prepares` is false: then each is sent
/// unnamed, parsed with its parameters every time, as a pooler that lends
/// a server session per transaction needs (a name prepared in one
/// transaction may be gone, or another client's, in the next).
final class PGConnection: @unchecked Sendable {
    // @unchecked: one owner at a time, handed over under the pool's lock.
    private let handle: OpaquePointer
    private let prepares: Bool
    /// Statements prepared on this connection, by their SQL.
    private var prepared: [String: String] = [:]
    /// What this connection's statement names start with: random, so that
    /// a pooler that moves it to another server session (misconfigured,
    /// see ``init(conninfo:prepares:)``) makes a statement fail as unknown
    /// rather than run a statement another client prepared under the name.
    private let names = "k" + String(UInt64.random(in: 0 ... .max), radix: 36) + "_"
    /// Statements waiting for the next one that needs an answer.
    private var queued: [Queued] = []
    /// How many statements were ever queued, and how many of those went to
    /// the server: a savepoint knows from its number whether it reached it.
    private var queuedCount = 0
    private var sentCount = 0
    /// The server said a statement prepared here does not exist.
    private var lostStatements = false
    /// How long one round trip waits for the server's answer before its
    /// statement is canceled; `nil`: as long as it takes (a migration,
    /// which may wait for another host's).
    var answerTimeout: Duration?
    /// How long a canceled statement's answer is waited for before the
    /// connection is shut down: a server that is up takes a cancel at once.
    static let cancelGrace = Duration.seconds(1)

    /// Before libpq's first connection initialises OpenSSL: no cleanup of
    /// OpenSSL at exit, which crashed a thread still in it (shim.h).
    private static let openSSLWithoutAtExit: Void = keygate_openssl_without_atexit()

    /// Connects; throws with libpq's message when the server cannot be
    /// reached or refuses (the message never contains the password).
    /// `prepares`: false behind a pooler in transaction mode (unnamed
    /// statements only). `answerTimeout`: ``answerTimeout``.
    init(conninfo: String, prepares: Bool = true, answerTimeout: Duration? = nil) throws(PGError) {
        _ = Self.openSSLWithoutAtExit
        guard let handle = PQconnectdb(conninfo) else {
            throw PGError(sqlState: "", message: "out of memory", connectionLost: true)
        }
        self.handle = handle
        self.prepares = prepares
        self.answerTimeout = answerTimeout
        // Thrown with every property set, the deinitializer closes the handle.
        // Non-blocking: a round trip waits on the socket itself, within its deadline.
        guard PQstatus(handle) == CONNECTION_OK, PQsetnonblocking(handle, 1) == 0 else {
            throw PGError(sqlState: "", message: Self.message(handle), connectionLost: true)
        }
        // Keygate's notices (a NOTICE from a migration's IF NOT EXISTS) are
        // not stderr's business.
        PQsetNoticeProcessor(handle, { _, _ in }, nil)
    }

    deinit {
        PQfinish(handle)
    }

    /// Connected, not left inside a pipeline a failure interrupted, and
    /// still holding what it prepared.
    var isHealthy: Bool { isConnected && PQpipelineStatus(handle) == PQ_PIPELINE_OFF && !lostStatements }

    private var isConnected: Bool { PQstatus(handle) == CONNECTION_OK }

    /// Whether the connection is inside a transaction block (`BEGIN` ran,
    /// or is queued, and neither `COMMIT` nor `ROLLBACK` yet).
    var inTransaction: Bool {
        let status = PQtransactionStatus(handle)
        return status == PQTRANS_INTRANS || status == PQTRANS_INERROR || queued.contains { $0.sql == "BEGIN" }
    }

    /// Whether statements wait in the queue (a connection with some is
    /// never lent to anyone else).
    var hasQueued: Bool { !queued.isEmpty }

    /// The database's encoding, as the server reported it on connecting
    /// (`UTF8`, `SQL_ASCII`, `LATIN1`, …).
    var serverEncoding: String? { PQparameterStatus(handle, "server_encoding").map { String(cString: $0) } }

    /// The server process's id, for tests that cut a connection.
    var backendPID: Int32 { PQbackendPID(handle) }

    /// The socket, for waiting on notifications.
    var socket: Int32 { PQsocket(handle) }

    /// Runs `body` in a transaction, committed when it returns, rolled back
    /// when it throws. `BEGIN` goes with the body's first statement and
    /// `COMMIT` with whatever the body left queued.
    ///
    /// With `lockTimeout`, each of its statements waits at most that long
    /// for a lock another session holds, then fails (`55P03`); without,
    /// as long as the server's `lock_timeout` says (by default, for ever).
    func inTransaction<T>(lockTimeout: Duration? = nil, _ body: () throws -> T) throws -> T {
        let begin = enqueue(Queued(control: "BEGIN"))
        if let lockTimeout { limitLockWaits(to: lockTimeout) }
        do {
            let result = try body()
            try commit()
            return result
        } catch {
            // Nothing to roll back if the server never saw the transaction begin.
            if takeBack(from: begin), inTransaction { try? execute("ROLLBACK") }
            throw error
        }
    }

    /// Begins a transaction at once (one round trip), with `lockTimeout`
    /// as ``inTransaction(lockTimeout:_:)`` takes it.
    func begin(lockTimeout: Duration? = nil) throws(PGError) {
        try execute(lockTimeout.map { "BEGIN; " + Self.setLocal(lockTimeout: $0) } ?? "BEGIN")
    }

    /// From here to the end of the transaction in progress, each statement
    /// waits at most `timeout` for a lock another session holds, then
    /// fails (`55P03`). Queued: it goes with the next statement.
    func limitLockWaits(to timeout: Duration) {
        assert(inTransaction, "a setting of the transaction's, only inside one")
        enqueue(Queued(control: Self.setLocal(lockTimeout: timeout)))
    }

    /// `SET LOCAL`: the setting ends with the transaction, so it never
    /// stays with a server session a pooler lends to other clients next.
    private static func setLocal(lockTimeout: Duration) -> String {
        "SET LOCAL lock_timeout = \(max(1, lockTimeout.milliseconds))"
    }

    /// Commits the transaction in progress, with what is queued.
    func commit() throws(PGError) {
        enqueue(Queued(control: "COMMIT"))
        try flush()
    }

    /// Runs `body` in a savepoint of the transaction in progress: what it
    /// wrote is kept only if it returns. The `SAVEPOINT` goes with the
    /// body's first statement. On return the `RELEASE` is sent and every
    /// error of the body's queued statements thrown here, unless
    /// `settling` is false: then they go with the enclosing savepoint's
    /// `RELEASE`, whose failure takes this one's writes back too. When the
    /// body throws, the savepoint is rolled back with the connection's next
    /// statement (nothing to undo if the server never saw it).
    func inSavepoint<T>(_ name: String, settling: Bool = true, _ body: () throws -> T) throws -> T {
        let savepoint = enqueue(Queued(control: "SAVEPOINT \(name)"))
        do {
            let result = try body()
            enqueue(Queued(control: "RELEASE SAVEPOINT \(name)"))
            if settling { try flush() }
            return result
        } catch {
            // Whatever the body queued that never left goes unsent; a
            // savepoint the server saw is rolled back.
            if takeBack(from: savepoint) {
                enqueue(Queued(control: "ROLLBACK TO SAVEPOINT \(name)"))
                enqueue(Queued(control: "RELEASE SAVEPOINT \(name)"))
            }
            throw error
        }
    }

    /// Runs `body` with its round trips waiting `timeout` for their
    /// answers (``answerTimeout``), and the connection's own limit after.
    func answering<T>(within timeout: Duration?, _ body: () throws -> T) rethrows -> T {
        let previous = answerTimeout
        answerTimeout = timeout
        defer { answerTimeout = previous }
        return try body()
    }

    /// Runs SQL without parameters: one or several statements (a migration,
    /// `LISTEN`), after whatever is queued. Throws the first one's failure
    /// (the server runs none after it).
    func execute(_ sql: String) throws(PGError) {
        try flush()
        try roundTrip { trip throws(PGError) in
            guard PQsendQuery(handle, sql) == 1 else {
                throw PGError(sqlState: "", message: Self.message(handle), connectionLost: !isConnected)
            }
            PQclear(try answer(&trip))
        }
    }

    /// Queues a statement whose rows nobody reads, to go with the next one
    /// that waits for an answer (``query(_:_:)``, ``flush()``, a savepoint's
    /// or a transaction's end). Its error is thrown there. Only inside a
    /// transaction: outside one, a pipeline's statements would commit or
    /// fail together, as one implicit transaction, not each on its own.
    func send(_ sql: String, _ parameters: [PGValue] = []) {
        assert(inTransaction, "statements are queued only inside a transaction")
        enqueue(Queued(sql: sql, parameters: parameters))
    }

    /// Sends what is queued and waits for it; throws the first error.
    func flush() throws(PGError) {
        guard !queued.isEmpty else { return }
        PQclear(try pipeline(queued))
    }

    /// Runs one statement with parameters, prepared once per connection
    /// and reused by its SQL text (where the connection prepares); what is
    /// queued goes first, in one pipeline with it, as does its preparation
    /// the first time (one round trip, not two).
    @discardableResult
    func query(_ sql: String, _ parameters: [PGValue] = []) throws(PGError) -> PGResult {
        let name = prepares ? prepared[sql] : nil
        if !queued.isEmpty || (prepares && name == nil) {
            // What is queued, or the statement's preparation, goes in one
            // round trip with it.
            guard let result = try pipeline(queued + [Queued(sql: sql, parameters: parameters)]) else {
                throw PGError(sqlState: "", message: Self.message(handle), connectionLost: !isConnected)
            }
            return PGResult(result)
        }
        try Self.refuseNUL(in: parameters)
        return try roundTrip { trip throws(PGError) in
            let sent = Self.withParameters(parameters) { values, lengths, formats in
                if let name {
                    PQsendQueryPrepared(handle, name, Int32(parameters.count), values, lengths, formats, 0)
                } else {
                    PQsendQueryParams(handle, sql, Int32(parameters.count), nil, values, lengths, formats, 0)
                }
            }
            guard sent == 1 else {
                throw PGError(sqlState: "", message: Self.message(handle), connectionLost: !isConnected)
            }
            return PGResult(try answer(&trip))
        }
    }

    /// Sends `statements` in one pipeline and reads every answer: the last
    /// statement's result, or the first error (the server skips what
    /// follows it). The queue is empty afterwards either way.
    private func pipeline(_ statements: [Queued]) throws(PGError) -> OpaquePointer? {
        try roundTrip { trip throws(PGError) in try pipeline(statements, &trip) }
    }

    private func pipeline(_ statements: [Queued], _ trip: inout RoundTrip) throws(PGError) -> OpaquePointer? {
        queued.removeAll(keepingCapacity: true)
        sentCount = queuedCount
        for statement in statements { try Self.refuseNUL(in: statement.parameters) }
        guard PQenterPipelineMode(handle) == 1 else {
            throw PGError(sqlState: "", message: Self.message(handle), connectionLost: !isConnected)
        }
        // What each answer in turn belongs to: a statement prepared on the
        // way (recorded as prepared only once the server said so), or the
        // statement at an index.
        enum Answer { case prepared(sql: String, name: String), statement(Int) }
        var answers: [Answer] = []
        var naming: [String: String] = [:]
        var sending = true
        for (index, statement) in statements.enumerated() where sending {
            if statement.isControl {
                sending = PQsendQueryParams(handle, statement.sql, 0, nil, nil, nil, nil, 0) == 1
            } else if !prepares {
                sending = Self.withParameters(statement.parameters) { values, lengths, formats in
                    PQsendQueryParams(handle, statement.sql, Int32(statement.parameters.count), nil,
                                      values, lengths, formats, 0)
                } == 1
            } else {
                let name: String
                if let known = prepared[statement.sql] ?? naming[statement.sql] {
                    name = known
                } else {
                    name = names + String(prepared.count + naming.count)
                    sending = PQsendPrepare(handle, name, statement.sql, Int32(statement.parameters.count), nil) == 1
                    naming[statement.sql] = name
                    answers.append(.prepared(sql: statement.sql, name: name))
                }
                if sending {
                    sending = Self.withParameters(statement.parameters) { values, lengths, formats in
                        PQsendQueryPrepared(handle, name, Int32(statement.parameters.count), values, lengths, formats, 0)
                    } == 1
                }
            }
            if sending { answers.append(.statement(index)) }
        }
        guard sending, PQpipelineSync(handle) == 1 else {
            throw PGError(sqlState: "", message: Self.message(handle), connectionLost: true)
        }
        var failure: PGError?
        var last: OpaquePointer?
        for answer in answers {
            guard let result = nextResult(&trip) else {
                failure = failure ?? PGError(sqlState: "", message: Self.message(handle), connectionLost: true)
                break
            }
            // Each statement's answer ends with a null result.
            while let extra = nextResult(&trip) { PQclear(extra) }
            if PQresultStatus(result) == PGRES_PIPELINE_ABORTED {
                PQclear(result)
                continue
            }
            do throws(PGError) {
                try check(result)
            } catch {
                failure = failure ?? error
                PQclear(result)
                continue
            }
            switch answer {
            case .prepared(let sql, let name):
                prepared[sql] = name
                PQclear(result)
            case .statement(let index) where index == statements.count - 1:
                last = result
            case .statement:
                PQclear(result)
            }
        }
        if failure?.connectionLost != true {
            // The sync's own answer; then the connection leaves pipeline mode.
            let sync = nextResult(&trip)
            let synced = sync.map { PQresultStatus($0) == PGRES_PIPELINE_SYNC } ?? false
            PQclear(sync)
            if !synced || PQexitPipelineMode(handle) != 1 {
                failure = failure ?? PGError(sqlState: "", message: Self.message(handle), connectionLost: true)
            }
        }
        if let failure {
            PQclear(last)
            throw failure
        }
        return last
    }

    /// Refuses text holding a NUL before anything is sent. libpq takes text
    /// parameters as C strings, so the server would get, and store, only
    /// what comes before the NUL, silently: `evt_1\u{0}a` and `evt_1\u{0}b`
    /// one id. Every input is checked long before (`KeyValidator`); this is
    /// the backstop that makes a miss there an error, not a wrong row.
    private static func refuseNUL(in parameters: [PGValue]) throws(PGError) {
        for case .text(let text) in parameters where text.utf8.contains(0) {
            throw PGError(sqlState: "22021", message: "text holding a NUL character cannot be sent to PostgreSQL; nothing was",
                          connectionLost: false)
        }
    }

    /// Calls `body` with every parameter's bytes in one buffer (text
    /// NUL-terminated), and where each starts (`nil` for SQL NULL), their
    /// lengths and formats as libpq takes them.
    private static func withParameters<Result>(
        _ parameters: [PGValue],
        _ body: ([UnsafePointer<CChar>?], [Int32], [Int32]) -> Result
    ) -> Result {
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
        return storage.withUnsafeBufferPointer { buffer in
            let base = UnsafeRawPointer(buffer.baseAddress!).assumingMemoryBound(to: CChar.self)
            return body(offsets.map { $0.map { base + $0 } }, lengths, formats)
        }
    }

    @discardableResult
    private func enqueue(_ statement: Queued) -> Int {
        queued.append(statement)
        queuedCount += 1
        return queuedCount - 1
    }

    /// Forgets the statements queued from number `first` on that never
    /// left; returns whether statement `first` itself had reached the
    /// server (then there is something to undo).
    private func takeBack(from first: Int) -> Bool {
        let kept = max(first, sentCount)
        queued.removeLast(queuedCount - kept)
        queuedCount = kept
        return first < sentCount
    }

    /// Runs one round trip (`body` sends, then reads every answer with
    /// ``nextResult(_:)``) within ``answerTimeout``; a failure that passing
    /// it caused says so.
    private func roundTrip<T>(_ body: (inout RoundTrip) throws(PGError) -> T) throws(PGError) -> T {
        var trip = RoundTrip(timeout: answerTimeout)
        do {
            return try body(&trip)
        } catch {
            throw trip.explain(error)
        }
    }

    /// Reads a round trip's answer (outside a pipeline) to the null that
    /// ends it: the last result, or the first failure (the server runs no
    /// statement after one).
    private func answer(_ trip: inout RoundTrip) throws(PGError) -> OpaquePointer {
        var last: OpaquePointer?
        var failure: PGError?
        while let result = nextResult(&trip) {
            do throws(PGError) {
                try check(result)
                if failure == nil {
                    PQclear(last)
                    last = result
                    continue
                }
            } catch {
                failure = failure ?? error
            }
            PQclear(result)
        }
        if let failure {
            PQclear(last)
            throw failure
        }
        // libpq gives a failure as a result; none at all is a connection gone.
        guard let last else { throw PGError(sqlState: "", message: Self.message(handle), connectionLost: true) }
        return last
    }

    /// The round trip's next result, as `PQgetResult` gives it, waited for
    /// within its deadline (``awaitAnswer(_:)``).
    private func nextResult(_ trip: inout RoundTrip) -> OpaquePointer? {
        awaitAnswer(&trip)
        return PQgetResult(handle)
    }

    /// Sends what libpq still holds and waits until `PQgetResult` would not
    /// block, or the connection broke (`PQgetResult` then returns the
    /// failure). At the deadline the server is asked to cancel the
    /// statement; if its answer still has not come ``cancelGrace`` later,
    /// the socket is shut down, which ends the wait as a lost connection.
    private func awaitAnswer(_ trip: inout RoundTrip) {
        while true {
            let flushed = PQflush(handle)
            guard flushed >= 0, socket >= 0 else { return }
            if flushed == 0, PQisBusy(handle) == 0 { return }
            let wait = trip.millisecondsLeft()
            if wait == 0 {
                switch trip.phase {
                case .waiting:
                    requestCancel()
                    trip.phase = .canceled
                    trip.deadline = .now + Self.cancelGrace
                case .canceled:
                    // The server's side sees the connection end whenever it
                    // runs again, and rolls back what was left open.
                    shutdown(socket, Int32(SHUT_RDWR))
                    trip.phase = .abandoned
                    trip.deadline = nil
                case .abandoned:
                    return
                }
                continue
            }
            let events = Int16(POLLIN) | (flushed == 1 ? Int16(POLLOUT) : 0)
            var descriptor = pollfd(fd: socket, events: events, revents: 0)
            let ready = poll(&descriptor, 1, wait)
            if ready < 0 {
                if errno == EINTR { continue }
                return
            }
            if ready > 0, descriptor.revents & Int16(POLLIN | POLLERR | POLLHUP | POLLNVAL) != 0 {
                guard PQconsumeInput(handle) == 1 else { return }
            }
        }
    }

    /// Asks the server, over a connection of its own, to cancel what this
    /// one runs. libpq's `PQcancel` waits for the server to close that
    /// connection, which a stopped server never does, so it runs on a
    /// thread of its own that nobody waits for; it ends when the server
    /// answers or its TCP keepalives give up.
    private func requestCancel() {
        guard let cancel = PQgetCancel(handle) else { return }
        let request = CancelRequest(cancel)
        let thread = Thread { request.send() }
        thread.name = "keygate-cancel"
        thread.stackSize = 1 << 18
        thread.start()
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
            throw PGError(sqlState: "", message: Self.message(handle), connectionLost: !isConnected)
        }
        switch PQresultStatus(result) {
        case PGRES_COMMAND_OK, PGRES_TUPLES_OK, PGRES_EMPTY_QUERY:
            return
        default:
            let state = PQresultErrorField(result, Int32(UInt8(ascii: "C"))).map { String(cString: $0) } ?? ""
            var primary = PQresultErrorField(result, Int32(UInt8(ascii: "M"))).map { String(cString: $0) }
                ?? Self.message(handle)
            if state == PGError.unknownStatement, prepares {
                // Only another server session lacks what this connection
                // prepared: a pooler lends sessions per transaction. The
                // connection's list of prepared statements no longer holds,
                // so it is not lent again.
                lostStatements = true
                primary += "; behind a pooler in transaction mode, use the transaction pool mode (docs/STORAGE.md, Poolers)"
            }
            throw PGError(sqlState: state, message: primary,
                          connectionLost: !isConnected || state.hasPrefix("08") || state == "57P01")
        }
    }

    private static func message(_ handle: OpaquePointer) -> String {
        String(cString: PQerrorMessage(handle)).trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// One round trip's deadline, and what was done when it passed.
private struct RoundTrip {
    enum Phase {
        /// For the answer, until the deadline.
        case waiting
        /// For the answer of a statement the server was asked to cancel.
        case canceled
        /// No more: the socket was shut down.
        case abandoned
    }

    let timeout: Duration?
    var deadline: ContinuousClock.Instant?
    var phase = Phase.waiting

    init(timeout: Duration?) {
        self.timeout = timeout
        deadline = timeout.map { .now + $0 }
    }

    /// How long `poll(2)` may wait: -1 for ever, 0 when the deadline
    /// passed, else at least a millisecond (not 0 while time is left).
    func millisecondsLeft() -> Int32 {
        guard let deadline else { return -1 }
        let left = deadline - .now
        guard left > .zero else { return 0 }
        return Int32(clamping: max(1, left.milliseconds))
    }

    /// The round trip's failure as what happened makes it: a statement
    /// canceled for its time, or a connection given up on.
    func explain(_ error: PGError) -> PGError {
        guard let timeout else { return error }
        let waited = "PostgreSQL did not answer within \(Self.words(timeout))"
        switch phase {
        case .waiting:
            return error
        case .canceled:
            // Another failure, one that came before the cancel took, is the statement's own.
            guard error.sqlState == "57014" else { return error }
            return PGError(sqlState: error.sqlState, message: waited + "; the statement was canceled",
                           connectionLost: error.connectionLost, timedOut: true)
        case .abandoned:
            return PGError(sqlState: "", message: waited + ", nor to a request to cancel within "
                + "\(Self.words(PGConnection.cancelGrace)); the connection was closed", connectionLost: true, timedOut: true)
        }
    }

    /// `2 s`, `1.5 s`, `250 ms`.
    static func words(_ duration: Duration) -> String {
        let milliseconds = duration.milliseconds
        if milliseconds < 1_000 { return "\(milliseconds) ms" }
        if milliseconds % 1_000 == 0 { return "\(milliseconds / 1_000) s" }
        return "\(Double(milliseconds) / 1_000) s"
    }
}

/// A request to cancel, sent from a thread of its own.
private final class CancelRequest: @unchecked Sendable {
    // @unchecked: libpq's cancel object may be used from any thread; only
    // the one thread that sends it touches it.
    private let cancel: OpaquePointer

    init(_ cancel: OpaquePointer) {
        self.cancel = cancel
    }

    func send() {
        // libpq sends the request without MSG_NOSIGNAL: a server that reset
        // the connection first would raise SIGPIPE, which a program
        // embedding Keygate may not ignore. Blocked on this thread, it stays
        // pending and goes with the thread.
        var pipe = sigset_t()
        sigemptyset(&pipe)
        sigaddset(&pipe, SIGPIPE)
        pthread_sigmask(SIG_BLOCK, &pipe, nil)
        var error = [CChar](repeating: 0, count: 256)
        _ = PQcancel(cancel, &error, Int32(error.count))
    }

    deinit {
        PQfreeCancel(cancel)
    }
}

/// A statement in a connection's queue.
private struct Queued {
    let sql: String
    let parameters: [PGValue]
    /// Transaction control (`BEGIN`, `SAVEPOINT`…): sent as it is, never prepared.
    let isControl: Bool

    init(sql: String, parameters: [PGValue]) {
        self.sql = sql
        self.parameters = parameters
        isControl = false
    }

    init(control sql: String) {
        self.sql = sql
        parameters = []
        isControl = true
    }
}
