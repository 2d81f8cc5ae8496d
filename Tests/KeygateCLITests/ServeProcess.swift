import Foundation
import Testing
#if canImport(Glibc)
import Glibc
#endif
import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import Locking

/// A real `keygate serve` process, driven over pipes the way the dashboard
/// backend, billing and the gateway drive it.
final class ServeProcess: @unchecked Sendable {
    static let repository = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The built executable, beside this test bundle in the build folder.
    static var executable: URL {
        var directory = Bundle.main.bundleURL
        while directory.path != "/" {
            let candidate = directory.appending(path: "keygate")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
            directory.deleteLastPathComponent()
        }
        return repository.appending(path: ".build/debug/keygate")
    }

    let process = Process()
    /// The SQLite file (unused on PostgreSQL).
    let database: URL
    /// The PostgreSQL schema's URL, when the server runs on PostgreSQL.
    let postgres: String?
    /// Whether `postgres` reaches the server through PgBouncer.
    let pooled: Bool
    private let input = Pipe()
    private let output = Pipe()
    private let errors = Pipe()
    private let lines = Locked<[String]>([])
    private let everyLine = Locked<[String]>([])
    private let stderrText = Locked<String>("")
    private let arrived = DispatchSemaphore(value: 0)
    private let stdoutClosed = DispatchSemaphore(value: 0)
    private let stderrClosed = DispatchSemaphore(value: 0)

    /// A server on a backend: a new SQLite file, a new PostgreSQL schema, or
    /// a new database through PgBouncer (in the transaction pool mode).
    convenience init(on backend: Backend, arguments: [String] = []) throws {
        switch backend {
        case .sqlite: try self.init(arguments: arguments)
        case .postgres: try self.init(postgres: try Backend.freshPostgresSchema(), arguments: arguments)
        case .pooled:
            try self.init(postgres: try Backend.freshPooledDatabase(), pooled: true, arguments: arguments)
        }
    }

    /// Another server on the same database as `other`, reached the same way.
    convenience init(sharing other: ServeProcess, arguments: [String] = []) throws {
        try self.init(database: other.database, postgres: other.postgres, pooled: other.pooled, arguments: arguments)
    }

    /// Whether the server can be run as a user other than root (see
    /// `unprivileged`): file permissions do not stop root.
    static var canDropPrivileges: Bool {
        getuid() != 0 || FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")
    }

    /// - Parameters:
    ///   - fileSizeLimitKiB: a file size limit (`ulimit -f`) for the server,
    ///     to play a full disk.
    ///   - openFilesLimit: how many file descriptors the server may have
    ///     open (`ulimit -n`).
    ///   - unprivileged: run the server as `nobody` when the tests run as
    ///     root, so that file permissions apply to it.
    ///   - postgres: a PostgreSQL URL to serve from instead of a SQLite file.
    ///   - pooled: `postgres` is a PgBouncer in transaction mode.
    init(database: URL? = nil, postgres: String? = nil, pooled: Bool = false, arguments: [String] = [],
         environment: [String: String] = [:], fileSizeLimitKiB: Int? = nil, openFilesLimit: Int? = nil, unprivileged: Bool = false,
         workingDirectory: URL? = nil) throws {
        self.postgres = postgres
        self.pooled = pooled
        self.database = try database ?? {
            try ScratchFolder.make("keygate-e2e").appending(path: "keygate.sqlite")
        }()
        // A server that died must fail the test that writes to it, not kill the runner.
        signal(SIGPIPE, SIG_IGN)
        let serveArguments = ["serve", "--database", postgres ?? self.database.path]
            + (pooled ? ["--pool-mode", "transaction"] : []) + arguments
        let limits = [fileSizeLimitKiB.map { "ulimit -f \($0)" }, openFilesLimit.map { "ulimit -n \($0)" }].compactMap { $0 }
        if !limits.isEmpty {
            process.executableURL = URL(filePath: "/bin/sh")
            process.arguments = ["-c", (limits + ["exec \"$0\" \"$@\""]).joined(separator: " && "), Self.executable.path] + serveArguments
        } else if unprivileged, getuid() == 0 {
            process.executableURL = URL(filePath: "/usr/bin/setpriv")
            process.arguments = ["--reuid=65534", "--regid=65534", "--clear-groups", Self.executable.path] + serveArguments
        } else {
            process.executableURL = Self.executable
            process.arguments = serveArguments
        }
        process.currentDirectoryURL = workingDirectory ?? Self.repository
        var inherited = ProcessInfo.processInfo.environment
        // A build with -sanitize=address checks the server for leaks at exit
        // and exits 1 on a report, failing a server that answered and
        // stopped correctly: LeakSanitizer cannot follow a pointer Swift
        // keeps in an enum's payload (the schema migration a server that
        // migrated keeps), and needs descriptors of its own (a server given
        // few). The test process's own check covers the stores' code.
        inherited["ASAN_OPTIONS"] = [inherited["ASAN_OPTIONS"], "detect_leaks=0"].compactMap { $0 }.joined(separator: ":")
        process.environment = inherited.merging(environment) { $1 }
        process.standardInput = input
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        Thread.detachNewThread { [self] in pump(output.fileHandleForReading, into: { line in
            lines.withLock { $0.append(line) }
            everyLine.withLock { $0.append(line) }
            arrived.signal()
        }, closed: stdoutClosed) }
        Thread.detachNewThread { [self] in pump(errors.fileHandleForReading, into: { line in
            stderrText.withLock { $0 += line + "\n" }
        }, closed: stderrClosed) }
    }

    private func pump(_ handle: FileHandle, into deliver: (String) -> Void, closed: DispatchSemaphore) {
        var pending = Data()
        while true {
            let chunk = handle.availableData
            if chunk.isEmpty { break }
            pending += chunk
            while let newline = pending.firstIndex(of: 0x0A) {
                deliver(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending = Data(pending[(newline + 1)...])
            }
        }
        if !pending.isEmpty { deliver(String(decoding: pending, as: UTF8.self)) }
        closed.signal()
    }

    /// Writes to the server's stdin; a server that died makes the next
    /// read time out and fail the test, instead of trapping here.
    func send(_ line: String) {
        try? input.fileHandleForWriting.write(contentsOf: Data((line + "\n").utf8))
    }

    func send(bytes: [UInt8]) {
        try? input.fileHandleForWriting.write(contentsOf: Data(bytes))
    }

    /// The next line on stdout; fails the call after `timeout`.
    func nextLine(timeout: TimeInterval = 10) throws -> String {
        guard arrived.wait(timeout: .now() + timeout) == .success else { throw Timeout(stderr: stderr) }
        return lines.withLock { $0.removeFirst() }
    }

    /// Sends a request and returns its parsed reply.
    func call(_ method: String, _ params: [String: Any] = [:], id: Int = 1) throws -> [String: Any] {
        let body: [String: Any] = ["jsonrpc": "2.0", "id": id, "method": method, "params": params]
        send(String(decoding: try JSONSerialization.data(withJSONObject: body), as: UTF8.self))
        return try JSONSerialization.jsonObject(with: Data(try nextLine().utf8)) as! [String: Any]
    }

    func result(_ method: String, _ params: [String: Any] = [:]) throws -> [String: Any] {
        let reply = try call(method, params)
        guard let result = reply["result"] as? [String: Any] else { throw Failed(reply: reply) }
        return result
    }

    /// Moves an organization to Pro and creates a key for `booking.read`
    /// there; the `keys.create` result (`key`, `secret`).
    func proKey(organization: String, rateLimit: Int) throws -> [String: Any] {
        _ = try result("subscriptions.setPlan", [
            "organizationId": organization, "plan": "pro", "eventId": "evt_\(organization)", "occurredAt": "2026-11-01T00:00:00Z",
        ])
        return try result("keys.create", [
            "organizationId": organization, "name": "k", "kind": "owner_integration", "capabilities": ["booking.read"],
            "rateLimit": rateLimit,
        ])
    }

    /// Two servers on a new database of `backend`, an admin and a gateway,
    /// and a Pro key of `organization` the gateway has verified once: the
    /// scene of a change made through one process and seen by another.
    static func adminAndGateway(on backend: Backend, organization: String) throws
        -> (admin: ServeProcess, gateway: ServeProcess, secret: String, keyId: String)
    {
        let admin = try ServeProcess(on: backend)
        let gateway = try ServeProcess(sharing: admin)
        let created = try admin.proKey(organization: organization, rateLimit: 1000)
        let secret = created["secret"] as! String
        let keyId = (created["key"] as! [String: Any])["id"] as! String
        #expect(try gateway.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        return (admin, gateway, secret, keyId)
    }

    /// The code `keys.verify` answers for `secret` (for `booking.read`),
    /// asked up to `tries` times `pause` microseconds apart until it is
    /// `expected`: for a change that another process makes.
    func verification(of secret: String, until expected: String, tries: Int, pause: useconds_t) throws -> String {
        var code = ""
        for _ in 0..<tries where code != expected {
            code = try result("keys.verify", ["key": secret, "capability": "booking.read"])["code"] as? String ?? ""
            if code != expected { usleep(pause) }
        }
        return code
    }

    /// Whether stderr comes to contain `text` within `seconds`: for a log
    /// line that a flush or a stop writes in its own time.
    func logs(_ text: String, within seconds: TimeInterval = 10) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while !stderr.contains(text), Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return stderr.contains(text)
    }

    /// How many times stderr holds `text`, waiting up to `seconds` for it
    /// to hold it `count` times: for a line each sweep writes.
    func logged(_ text: String, reaching count: Int, within seconds: TimeInterval = 10) -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        func seen() -> Int { stderr.components(separatedBy: text).count - 1 }
        while seen() < count, Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
        return seen()
    }

    /// Two servers on `other`'s database that sweep (and record their
    /// settings) each second and log at debug: the first with the defaults,
    /// started once it has recorded them, the second with `arguments` too.
    static func sweepingPair(sharing other: ServeProcess, secondWith arguments: [String]) throws
        -> (first: ServeProcess, second: ServeProcess)
    {
        let sweeping = ["--event-sweep-seconds", "1", "--log-level", "debug"]
        let first = try ServeProcess(sharing: other, arguments: sweeping)
        #expect(first.logs("settings recorded"), "\(first.stderr)")
        return (first, try ServeProcess(sharing: other, arguments: sweeping + arguments))
    }

    /// The server's database opened by this test process itself, with
    /// `rules` and `clock` (to write what an earlier time left there).
    func openStorage(rules: KeyRules, clock: any WallClock = SystemClock()) throws -> any KeygateStorage {
        if let postgres { return try PostgresKeyStorage(url: postgres, rules: rules, clock: clock) }
        return try SQLiteKeyStorage(path: database.path, rules: rules, clock: clock)
    }

    /// A key's `usage.valid` as `keys.get` answers it, asked again every
    /// `pause` seconds until it reaches `count` or `seconds` have passed:
    /// counts reach the store with a flush, about a second after.
    func validUsage(of keyId: String, in organization: String, reaching count: Int, within seconds: TimeInterval = 10,
                    pause: TimeInterval = 0.05) throws -> Int {
        let deadline = Date().addingTimeInterval(seconds)
        while true {
            let key = try result("keys.get", ["organizationId": organization, "keyId": keyId])
            let valid = (key["usage"] as? [String: Any])?["valid"] as? Int ?? 0
            if valid >= count || Date() >= deadline { return valid }
            Thread.sleep(forTimeInterval: pause)
        }
    }

    /// Closes stdin and waits for the exit; returns the status.
    func finish() -> Int32 {
        closeInput()
        return waitForExit()
    }

    /// Closes stdin, which asks the server to stop, and returns at once.
    func closeInput() {
        try? input.fileHandleForWriting.close()
    }

    func waitForExit() -> Int32 {
        process.waitUntilExit()
        _ = stdoutClosed.wait(timeout: .now() + 5)
        _ = stderrClosed.wait(timeout: .now() + 5)
        return process.terminationStatus
    }

    /// Every line the process wrote to stdout, read or not.
    var stdoutLines: [String] { everyLine.withLock { $0 } }
    var stderr: String { stderrText.withLock { $0 } }

    struct Timeout: Error, CustomStringConvertible {
        let stderr: String
        var description: String { "no reply in time; stderr:\n\(stderr)" }
    }

    struct Failed: Error, CustomStringConvertible {
        let description: String
        init(reply: [String: Any]) { description = "\(reply)" }
    }

    deinit {
        if process.isRunning { process.terminate() }
    }
}
