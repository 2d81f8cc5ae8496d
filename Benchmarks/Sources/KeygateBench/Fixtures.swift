import Foundation
import GRDB
import KeyStore
import KeygateService
import PlanCatalog

/// The rules of a store that the retention benchmarks (folding, forgetting
/// deliveries, pruning the audit log) fill by SQL and create no key in.
let retentionRules = KeyRules(format: KeyFormat(prefix: "kg", environments: ["live"]), kinds: [], capabilities: [])
/// The time those benchmarks run at (2026-01-01, milliseconds), and how far
/// before it their old rows lie: past a 30-day retention.
let retentionNow: Int64 = 1_767_225_600_000
let fortyDays: Int64 = 40 * 86_400_000

/// Runs `body` with the path of a database in a fresh folder under the
/// system's temporary one (`keygate-<name>-<uuid>`), removed once it returns.
func withScratchDatabase<T>(_ name: String, _ body: (_ path: String) throws -> T) throws -> T {
    let folder = FileManager.default.temporaryDirectory.appending(path: "keygate-\(name)-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    return try body(folder.appending(path: "keygate.sqlite").path)
}

/// Databases with many keys, built once and kept under `.data/`, and the
/// secrets of a few hundred of their keys to verify.
///
/// Keys are inserted in bulk with SQL in one transaction (creating a million
/// keys one call at a time would take longer than the benchmarks), with the
/// digests and hints the store itself computes. Organizations hold 20 keys
/// each and are on Pro, so every key verifies as valid.
struct KeyFixture {
    let path: String
    let hotSecrets: [String]
    let bigOrganization: String?
    /// Every key's secret, in key order (`key_bench<index>`), kept in
    /// `<name>.all-secrets` beside the database.
    var allSecretsPath: String { path.replacingOccurrences(of: ".sqlite", with: ".all-secrets") }

    /// A database's files: the file, its log and index, the shared rate
    /// limits and the usage file with its own.
    static let fileSuffixes = ["", "-wal", "-shm", "-limits", "-usage", "-usage-wal", "-usage-shm"]

    /// Copies the fixture's files to `path`, replacing what is there: for
    /// rows that write, so the kept fixture stays as it was.
    func copy(to path: String) throws {
        for suffix in Self.fileSuffixes {
            try? FileManager.default.removeItem(atPath: path + suffix)
            if FileManager.default.fileExists(atPath: self.path + suffix) {
                try FileManager.default.copyItem(atPath: self.path + suffix, toPath: path + suffix)
            }
        }
    }

    /// Every key's secret, read from the file written with the database.
    func allSecrets() throws -> [String] {
        try String(contentsOfFile: allSecretsPath, encoding: .utf8).split(separator: "\n").map(String.init)
    }

    static let keysPerOrganization = 20

    /// Reads the database and its usage file once, so that a row starting
    /// from an empty cache in the process does not also start from an empty
    /// page cache in the system: whether the file was still there depended
    /// on what ran before (a build, another fixture), and the realistic
    /// row's first pass measured 68k/s after dropping the system's caches
    /// and 95k/s just after, on the same build (docs/PERFORMANCE.md).
    func warmSystemCache() {
        for file in [path, KeyDatabase.usagePath(for: path)] {
            guard let handle = FileHandle(forReadingAtPath: file) else { continue }
            while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty {}
            try? handle.close()
        }
    }

    static func prepare(keys count: Int, catalog: PlanCatalog, in directory: URL, bigOrganizationKeys: Int = 0) throws -> KeyFixture {
        let name = "keys-\(count)\(bigOrganizationKeys > 0 ? "-big\(bigOrganizationKeys)" : "")"
        let path = directory.appending(path: "\(name).sqlite").path
        let secretsPath = directory.appending(path: "\(name).secrets").path
        let allSecretsPath = directory.appending(path: "\(name).all-secrets").path
        if FileManager.default.fileExists(atPath: path), FileManager.default.fileExists(atPath: allSecretsPath),
            let secrets = try? String(contentsOfFile: secretsPath, encoding: .utf8) {
            // Earlier runs counted requests against this month's quotas:
            // start every run with none, so no key is refused for quota.
            // Nor for its rate: the shared rate-limit state beside the file
            // keeps what a run a few seconds ago spent (no process has it
            // open now), and would refuse most of the next run's hot keys.
            try? FileManager.default.removeItem(atPath: path + "-limits")
            let pool = try KeyDatabase.open(path: path)
            try pool.write { try $0.execute(sql: "DELETE FROM meter_usage") }
            // And with an empty log, so that its size after a run is what the run wrote.
            _ = try pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
            try pool.close()
            return KeyFixture(path: path, hotSecrets: secrets.split(separator: "\n").map(String.init),
                              bigOrganization: bigOrganizationKeys > 0 ? "org_big" : nil)
        }
        for suffix in fileSuffixes {
            try? FileManager.default.removeItem(atPath: path + suffix)
        }
        let pool = try KeyDatabase.open(path: path)
        let format = KeyFormat(catalog: catalog)
        let now = Int64(Date().timeIntervalSince1970 * 1000)
        var hot: [String] = []
        var all: [String] = []
        all.reserveCapacity(count)
        // A thousand hot keys spread over the database (every key of a small
        // one), enough that rate limits of 1,000 a minute never bite.
        let stride = max(1, count / 1_000)
        try pool.write { db in
            let key = try db.makeStatement(sql: """
                INSERT INTO api_key (id, organization_id, name, kind, capabilities, environment, hint, rate_limit, created_at)
                VALUES (?, ?, ?, 'owner_integration', 'booking.read booking.create', 'live', ?, 1000, ?)
                """)
            let secret = try db.makeStatement(sql: """
                INSERT INTO key_secret (digest, key_id, key_seq) VALUES (?1, ?2, (SELECT seq FROM api_key WHERE id = ?2))
                """)
            let subscription = try db.makeStatement(sql: """
                INSERT OR IGNORE INTO subscription (organization_id, plan, status, last_event_at, updated_at)
                VALUES (?, 'pro', 'active', 0, ?)
                """)
            func insert(_ index: Int, organization: String) throws -> String {
                let raw = format.generate(environment: "live")
                let parsed = try format.parse(raw.unredacted)
                let id = "key_bench\(index)"
                try key.execute(arguments: [id, organization, "bench \(index)", parsed.hint, now])
                try secret.execute(arguments: [Data(parsed.digest.bytes), id])
                return raw.unredacted
            }
            for index in 0..<count {
                let organization = "org_\(index / keysPerOrganization)"
                if index % keysPerOrganization == 0 { try subscription.execute(arguments: [organization, now]) }
                let raw = try insert(index, organization: organization)
                if index % stride == 0 { hot.append(raw) }
                all.append(raw)
            }
            if bigOrganizationKeys > 0 {
                try subscription.execute(arguments: ["org_big", now])
                for index in 0..<bigOrganizationKeys { _ = try insert(count + index, organization: "org_big") }
            }
        }
        _ = try pool.writeWithoutTransaction { try $0.checkpoint(.truncate) }
        try hot.joined(separator: "\n").write(toFile: secretsPath, atomically: true, encoding: .utf8)
        try all.joined(separator: "\n").write(toFile: allSecretsPath, atomically: true, encoding: .utf8)
        return KeyFixture(path: path, hotSecrets: hot, bigOrganization: bigOrganizationKeys > 0 ? "org_big" : nil)
    }
}
