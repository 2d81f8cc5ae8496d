import Foundation
import KeygateTestSupport
#if canImport(Glibc)
import Glibc
#endif

/// A PostgreSQL cluster of one test's own, which the test may stop and
/// start (the shared test server must stay up for every other test).
/// The same steps as Scripts/with-postgres.sh: initdb in a temporary
/// folder (as `postgres` when run as root), socket there, TCP on
/// 127.0.0.1 only, fsync off. About 2 s to create, 0.5 s to restart.
final class PrivateCluster: @unchecked Sendable {
    let folder: URL
    let port: Int
    private let bin: String
    private let asOwner: [String]

    /// Whether the server binaries are installed.
    static var binaries: String? {
        let candidates = [Self.pgConfigBindir()].compactMap { $0 } + ["/usr/lib/postgresql/15/bin"]
        return candidates.first { FileManager.default.isExecutableFile(atPath: $0 + "/initdb") }
    }

    /// The login's password, when the cluster asks for one (SCRAM);
    /// `nil`: it trusts every local connection.
    let password: String?
    /// How many seconds the server's clock runs ahead of the host's
    /// (libfaketime preloaded into it), or `nil`: the host's.
    private let clockAhead: Int?

    /// libfaketime, which shifts the clock of a program it is preloaded into.
    static let fakeTime = ["/usr/lib/x86_64-linux-gnu", "/usr/lib/aarch64-linux-gnu"]
        .map { $0 + "/faketime/libfaketime.so.1" }.first { FileManager.default.fileExists(atPath: $0) }

    init(password: String? = nil, clockAhead: Int? = nil) throws {
        self.password = password
        self.clockAhead = clockAhead
        guard let bin = Self.binaries else { throw Failure("no initdb: install Debian's postgresql package") }
        self.bin = bin
        folder = FileManager.default.temporaryDirectory.appending(path: "keygate-pg-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        port = Self.freePort()
        if getuid() == 0 {
            try Self.run("/bin/chown", ["postgres", folder.path])
            asOwner = ["/usr/sbin/runuser", "-u", "postgres", "--"]
        } else {
            asOwner = []
        }
        var authentication = ["--auth=trust"]
        if let password {
            let file = folder.appending(path: "password")
            try Data(password.utf8).write(to: file)
            if getuid() == 0 { try Self.run("/bin/chown", ["postgres", file.path]) }
            authentication = ["--auth=scram-sha-256", "--pwfile=\(file.path)"]
        }
        try command("initdb", ["-U", "keygate"] + authentication + ["--no-sync", "-D", folder.appending(path: "data").path])
        try start()
    }

    deinit {
        try? command("pg_ctl", ["-D", folder.appending(path: "data").path, "-m", "immediate", "stop"])
        try? FileManager.default.removeItem(at: folder)
    }

    var url: String { "postgresql://keygate@127.0.0.1:\(port)/postgres" }

    func start() throws {
        // The server inherits pg_ctl's environment.
        let shifted = clockAhead.map { ahead in
            ["/usr/bin/env", "LD_PRELOAD=\(Self.fakeTime ?? "")", "FAKETIME=\(ahead >= 0 ? "+" : "")\(ahead)",
             "DONT_FAKE_MONOTONIC=1"]
        } ?? []
        try command("pg_ctl", prefix: shifted, ["-w", "-D", folder.appending(path: "data").path, "-l", folder.appending(path: "log").path,
                               "-o", "-k \(folder.path) -h 127.0.0.1 -p \(port) -c fsync=off", "start"])
    }

    /// Stops at once, as a crash or a restart would look to a client.
    func stop() throws {
        try command("pg_ctl", ["-w", "-D", folder.appending(path: "data").path, "-m", "fast", "stop"])
    }

    private func command(_ name: String, prefix: [String] = [], _ arguments: [String]) throws {
        let all = asOwner + prefix + [bin + "/" + name] + arguments
        try Self.run(all[0], Array(all.dropFirst()))
    }

    /// Runs a program to its end with posix_spawn and waitpid, with no file
    /// descriptor of the test process but stdin: the server `pg_ctl start`
    /// leaves running must not inherit any.
    private static func run(_ executable: String, _ arguments: [String]) throws {
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
        // Nothing else of the test process: a server started later would
        // otherwise hold the write ends of serve processes' stdin pipes,
        // and they would never see the end of their input.
        let open = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd"))?.compactMap { Int32($0) } ?? []
        for descriptor in open where descriptor > 2 && fcntl(descriptor, F_GETFD) >= 0 {
            posix_spawn_file_actions_addclose(&actions, descriptor)
        }
        let argv = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { for pointer in argv { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        guard spawned == 0 else { throw Failure("\(executable): posix_spawn failed (\(spawned))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        // WIFEXITED && WEXITSTATUS == 0
        guard status & 0x7f == 0, (status >> 8) & 0xff == 0 else {
            throw Failure("\(executable) \(arguments.joined(separator: " ")) ended with status \(status)")
        }
    }

    private static func pgConfigBindir() -> String? {
        guard let run = try? ToolRun("pg_config", ["--bindir"]), run.succeeded else { return nil }
        return run.output.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// A port nothing listens on now, from the kernel.
    private static func freePort() -> Int {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(descriptor, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
        init(_ description: String) { self.description = description }
    }
}
