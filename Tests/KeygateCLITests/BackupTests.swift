import Foundation
import GRDB
import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// `keygate backup` and `keygate restore`, as an operator's nightly job and
/// a bad day's recovery run them.
@Suite("Backup and restore")
struct BackupTests {
    static let booking = ["capability": "booking.read"]

    /// A server on a new database with one Pro key of `org_b` it has
    /// verified three times; the key's secret and id.
    func serving() throws -> (serve: ServeProcess, secret: String, keyId: String) {
        let serve = try ServeProcess()
        let created = try serve.proKey(organization: "org_b", rateLimit: 1000)
        let secret = try #require(created["secret"] as? String)
        for _ in 0..<3 {
            #expect(try serve.result("keys.verify", Self.booking.merging(["key": secret]) { $1 })["valid"] as? Bool == true)
        }
        return (serve, secret, try #require((created["key"] as? [String: Any])?["id"] as? String))
    }

    func code(_ serve: ServeProcess, _ secret: String) throws -> String? {
        try serve.result("keys.verify", Self.booking.merging(["key": secret]) { $1 })["code"] as? String
    }

    func today() -> String {
        Date.now.formatted(Date.ISO8601FormatStyle(timeZone: .gmt).year().month().day())
    }

    @Test func aBackupTakenWhileServingOpensAsTheDatabaseWasWithoutASecret() throws {
        let (serve, secret, keyId) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        // The counts reach the usage file with the next flush, within a second.
        var counted = false
        for _ in 0..<50 where !counted {
            let days = try serve.result("usage.get", ["organizationId": "org_b", "keyId": keyId, "from": today(), "to": today()])
            counted = (days["days"] as? [[String: Any]])?.first?["valid"] as? Int == 3
            if !counted { usleep(100_000) }
        }
        #expect(counted)

        let backup = folder.appending(path: "nightly.sqlite")
        let run = try CommandRun(["backup", backup.path, "--database", serve.database.path], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("backed up \(serve.database.path) to \(backup.path): 1 key, 1 organization"))
        // The server went on meanwhile.
        #expect(try code(serve, secret) == "valid")
        #expect(serve.finish() == 0)

        for file in [backup.path, backup.path + "-usage"] {
            let bytes = try Data(contentsOf: URL(filePath: file))
            #expect(bytes.range(of: Data(secret.utf8)) == nil, "\(file) holds the secret")
        }
        let restored = try ServeProcess(database: backup)
        #expect(try code(restored, secret) == "valid")
        let days = try restored.result("usage.get", ["organizationId": "org_b", "keyId": keyId, "from": today(), "to": today()])
        #expect((days["days"] as? [[String: Any]])?.first?["valid"] as? Int == 3)
        #expect(restored.finish() == 0)
    }

    /// A backup reads the database read-write where it can (SQLite copies
    /// faster so), and read-only where the file cannot be written: a
    /// replica's mount, a file kept by another user.
    @Test(.enabled(if: UnwritableFile.canMake, "this user can make no file unwritable to itself"))
    func aBackupOfADatabaseThatCannotBeWrittenIsWhole() throws {
        let (serve, secret, _) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        #expect(serve.finish() == 0)
        let locked = try UnwritableFile(serve.database.path)
        defer { locked.release() }
        #expect(open(serve.database.path, O_RDWR) == -1)

        let backup = folder.appending(path: "nightly.sqlite")
        let run = try CommandRun(["backup", backup.path, "--database", serve.database.path], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("backed up \(serve.database.path) to \(backup.path): 1 key, 1 organization"))
        let restored = try ServeProcess(database: backup)
        #expect(try code(restored, secret) == "valid")
        #expect(restored.finish() == 0)
    }

    @Test func aBackupNeverReplacesAFile() throws {
        let (serve, _, _) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        let existing = folder.appending(path: "keep.sqlite")
        try Data("precious".utf8).write(to: existing)
        let run = try CommandRun(["backup", existing.path, "--database", serve.database.path], in: folder)
        #expect(run.status == 2)
        #expect(run.errors.contains("\(existing.path) already exists; a backup never replaces a file"))
        #expect(try Data(contentsOf: existing) == Data("precious".utf8))
        #expect(!FileManager.default.fileExists(atPath: existing.path + "-usage"))
        #expect(serve.finish() == 0)
    }

    /// A backup or a restore into a folder that is not there says which
    /// folder: SQLite's "unable to open database" named the temporary
    /// copy and was reported against the database being copied.
    @Test func aFileInAMissingFolderIsRefusedNamingTheFolder() throws {
        let (serve, _, _) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        let missing = folder.appending(path: "not-made").path
        let backup = try CommandRun(["backup", missing + "/copy.sqlite", "--database", serve.database.path], in: folder)
        #expect(backup.status == 2)
        #expect(backup.errors.contains("\(missing)/copy.sqlite: its folder \(missing) does not exist"), "\(backup.errors)")
        #expect(serve.finish() == 0)
        let copy = folder.appending(path: "copy.sqlite").path
        #expect(try CommandRun(["backup", copy, "--database", serve.database.path], in: folder).status == 0)
        let restore = try CommandRun(["restore", copy, "--database", missing + "/keygate.sqlite"], in: folder)
        #expect(restore.status == 2)
        #expect(restore.errors.contains("\(missing)/keygate.sqlite: its folder \(missing) does not exist"), "\(restore.errors)")
        #expect(!FileManager.default.fileExists(atPath: missing))
    }

    /// A folder this user may not write, for a backup or a restore: SQLite
    /// said only "unable to open database", naming the temporary copy.
    @Test(.enabled(if: getuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv")))
    func aFolderThisUserMayNotWriteIsRefusedNamingTheFolder() throws {
        let (serve, _, _) = try serving()
        #expect(serve.finish() == 0)
        let folder = serve.database.deletingLastPathComponent()
        let closed = folder.appending(path: "closed")
        try FileManager.default.createDirectory(at: closed, withIntermediateDirectories: false,
                                                attributes: [.posixPermissions: 0o555])
        func asNobody(_ arguments: [String]) throws -> ToolRun {
            try ToolRun(URL(filePath: "/usr/bin/setpriv"),
                        ["--reuid=65534", "--regid=65534", "--clear-groups", ServeProcess.executable.path] + arguments, in: folder)
        }
        let backup = try asNobody(["backup", closed.path + "/copy.sqlite", "--database", serve.database.path])
        #expect(backup.status == 2)
        #expect(backup.errors == "keygate backup: \(closed.path)/copy.sqlite: its folder \(closed.path) cannot be written "
            + "(Permission denied)\n", "\(backup.errors)")
        let restore = try asNobody(["restore", serve.database.path, "--database", closed.path + "/keygate.sqlite"])
        #expect(restore.status == 2)
        #expect(restore.errors.contains("\(closed.path)/keygate.sqlite: its folder \(closed.path) cannot be written"),
                "\(restore.errors)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: closed.path).isEmpty)
    }

    @Test func aRestoreRefusesADatabaseInUseAndLeavesItServing() throws {
        let (serve, secret, _) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        let backup = folder.appending(path: "before.sqlite")
        #expect(try CommandRun(["backup", backup.path, "--database", serve.database.path], in: folder).status == 0)
        _ = try serve.result("keys.create", [
            "organizationId": "org_b", "name": "after", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])

        let run = try CommandRun(["restore", backup.path, "--database", serve.database.path], in: folder)
        #expect(run.status == 2)
        #expect(run.errors.contains("\(serve.database.path) is open in another process"))
        #expect(try code(serve, secret) == "valid")
        let keys = try serve.result("keys.list", ["organizationId": "org_b"])["keys"] as? [[String: Any]]
        #expect(keys?.count == 2)
        #expect(serve.finish() == 0)
    }

    /// The dashboard made changes after the backup; the notifier handled
    /// their events. After the restore the keys are as they were at the
    /// backup, and the notifier, from the cursor it kept, gets the events
    /// written since the restore.
    @Test func aRestoreBringsBackTheBackupAndEventsFollowTheNotifiersCursor() throws {
        let (serve, secret, keyId) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        let backup = folder.appending(path: "before.sqlite")
        #expect(try CommandRun(["backup", backup.path, "--database", serve.database.path], in: folder).status == 0)
        let later = try serve.result("keys.create", [
            "organizationId": "org_b", "name": "later", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])
        _ = try serve.result("keys.revoke", ["organizationId": "org_b", "keyId": keyId])
        let handled = try serve.result("events.list", ["limit": 100])
        let cursor = try #require(handled["nextCursor"] as? String)
        #expect(serve.finish() == 0)

        let run = try CommandRun(["restore", backup.path, "--database", serve.database.path], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        #expect(run.output.hasPrefix("restored \(serve.database.path) from \(backup.path): 1 key, 1 organization"))

        let restored = try ServeProcess(database: serve.database)
        #expect(try code(restored, secret) == "valid")
        #expect(try code(restored, try #require(later["secret"] as? String)) == "not_found")
        let next = try restored.result("keys.create", [
            "organizationId": "org_b", "name": "next", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])
        let events = try restored.result("events.list", ["cursor": cursor, "limit": 100])["events"] as? [[String: Any]]
        #expect(events?.map { $0["type"] as? String } == ["key.created"])
        #expect(events?.first?["keyId"] as? String == (next["key"] as? [String: Any])?["id"] as? String)
        #expect(restored.finish() == 0)
        // The backup itself is left as it was: restoring it again gives the same keys.
        let again = try CommandRun(["restore", backup.path, "--database", serve.database.path], in: folder)
        #expect(again.status == 0 && again.output.contains(": 1 key, 1 organization"))
    }

    @Test func aRestoreCreatesADatabaseWhereThereIsNone() throws {
        let (serve, secret, keyId) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        let backup = folder.appending(path: "nightly.sqlite")
        #expect(try CommandRun(["backup", backup.path, "--database", serve.database.path], in: folder).status == 0)
        let later = try serve.result("keys.create", [
            "organizationId": "org_b", "name": "later", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])
        let laterBackup = folder.appending(path: "later.sqlite")
        #expect(try CommandRun(["backup", laterBackup.path, "--database", serve.database.path], in: folder).status == 0)
        #expect(serve.finish() == 0)
        let elsewhere = try ScratchFolder.make("keygate-restore").appending(path: "keygate.sqlite")
        let run = try CommandRun(["restore", backup.path, "--database", elsewhere.path], in: folder)
        #expect(run.status == 0, "\(run.errors)")
        let restored = try ServeProcess(database: elsewhere)
        #expect(try code(restored, secret) == "valid")
        _ = try restored.result("keys.revoke", ["organizationId": "org_b", "keyId": keyId])
        #expect(restored.finish() == 0)

        // Its events went as far as the later backup's (one change each):
        // the backup replaces it with no staging copy, and all of it.
        let over = try CommandRun(["restore", laterBackup.path, "--database", elsewhere.path], in: folder)
        #expect(over.status == 0, "\(over.errors)")
        #expect(over.output.contains(": 2 keys, 1 organization"))
        let again = try ServeProcess(database: elsewhere)
        #expect(try code(again, secret) == "valid")
        #expect(try code(again, try #require(later["secret"] as? String)) == "valid")
        #expect(again.finish() == 0)
    }

    @Test func aRestoreRefusesWhatIsNotAWholeBackupOfThisVersionAndChangesNothing() throws {
        let (serve, secret, _) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        #expect(serve.finish() == 0)
        let good = folder.appending(path: "good.sqlite")
        #expect(try CommandRun(["backup", good.path, "--database", serve.database.path], in: folder).status == 0)

        let garbage = folder.appending(path: "garbage.sqlite")
        try Data(repeating: 0x5A, count: 8192).write(to: garbage)
        let foreign = folder.appending(path: "foreign.sqlite")
        try DatabaseQueue(path: foreign.path).write { db in try db.execute(sql: "CREATE TABLE notes (text TEXT)") }
        let newer = folder.appending(path: "newer.sqlite")
        #expect(try CommandRun(["backup", newer.path, "--database", serve.database.path], in: folder).status == 0)
        try DatabaseQueue(path: newer.path).write { db in
            try db.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v99: from the future')")
        }
        let halved = folder.appending(path: "halved.sqlite")
        #expect(try CommandRun(["backup", halved.path, "--database", serve.database.path], in: folder).status == 0)
        try FileManager.default.removeItem(atPath: halved.path + "-usage")
        // The database under another name: its own connection must not pass for another process.
        let alias = folder.appending(path: "alias.sqlite")
        try FileManager.default.createSymbolicLink(atPath: alias.path, withDestinationPath: serve.database.path)

        let cases: [(URL, String)] = [
            (garbage, "\(garbage.path) is damaged or not a database"),
            (foreign, "\(foreign.path) is not a Keygate database"),
            (newer, "\(newer.path) was written by a later version of Keygate (v99: from the future)"),
            (halved, "\(halved.path)-usage is missing: a backup is the database's file and its usage file beside it"),
            (folder.appending(path: "absent.sqlite"), "absent.sqlite does not exist"),
            (alias, "\(alias.path) is the database itself; restore from a backup of it"),
        ]
        for (backup, message) in cases {
            let run = try CommandRun(["restore", backup.path, "--database", serve.database.path], in: folder)
            #expect(run.status == 2)
            #expect(run.errors.contains(message), "\(run.errors)")
        }
        let unchanged = try ServeProcess(database: serve.database)
        #expect(try code(unchanged, secret) == "valid")
        #expect(unchanged.finish() == 0)
    }

    @Test func aDamagedDatabaseIsNamedWithWhatToDo() throws {
        let (serve, _, _) = try serving()
        let folder = serve.database.deletingLastPathComponent()
        let backup = folder.appending(path: "nightly.sqlite")
        #expect(try CommandRun(["backup", backup.path, "--database", serve.database.path], in: folder).status == 0)
        #expect(serve.finish() == 0)
        let damaged = folder.appending(path: "damaged.sqlite")
        try Data(repeating: 0x5A, count: 8192).write(to: damaged)
        let run = try CommandRun(["restore", backup.path, "--database", damaged.path], in: folder)
        #expect(run.status == 2)
        #expect(run.errors.contains("\(damaged.path) is damaged or not a database"))
        #expect(run.errors.contains("move it aside with the files beside it"))
    }

    @Test func postgreSQLIsLeftToItsOwnTools() throws {
        let folder = try ScratchFolder.make("keygate-backup")
        for command in [["backup", "copy.sqlite"], ["restore", "copy.sqlite"]] {
            let run = try CommandRun(command + ["--database", "postgresql://keygate@127.0.0.1/keygate"], in: folder)
            #expect(run.status == 2)
            #expect(run.errors.contains("on PostgreSQL use pg_dump and pg_restore"))
        }
    }

    /// docs/OPERATIONS.md's steps on PostgreSQL, as written there: a dump
    /// without the unlogged table, restored into an empty database, the
    /// outbox's position carried over.
    @Test(.enabled(if: Backend.postgresEnabled, Comment(rawValue: Backend.skipReason)))
    func aPostgreSQLDumpRestoredAsDocumentedServesAndEventsFollowTheCursor() throws {
        let base = try #require(Backend.postgresURL)
        func database(_ name: String) throws -> String {
            var components = try #require(URLComponents(string: base))
            components.path = "/" + name
            return try #require(components.string)
        }
        let suffix = UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
        let (old, new) = (try database("old_" + suffix), try database("new_" + suffix))
        try PostgresKeyStorage.execute("CREATE DATABASE old_\(suffix)", url: base)
        try PostgresKeyStorage.execute("CREATE DATABASE new_\(suffix)", url: base)
        let folder = try ScratchFolder.make("keygate-pg-dump")
        let dump = folder.appending(path: "keygate.dump").path

        let before = try ServeProcess(postgres: old)
        let secret = try #require(try before.proKey(organization: "org_d", rateLimit: 1000)["secret"] as? String)
        try Self.tool("pg_dump", ["--format=custom", "--no-unlogged-table-data", "--file", dump, old])
        let later = try before.result("keys.create", [
            "organizationId": "org_d", "name": "later", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])
        let cursor = try #require(try before.result("events.list", ["limit": 100])["nextCursor"] as? String)
        #expect(before.finish() == 0)

        let position = try Self.tool("psql", ["--no-psqlrc", "-tAc", "SELECT position FROM outbox_head", old])
        try Self.tool("pg_restore", ["--dbname", new, dump])
        try PostgresKeyStorage.execute(
            "UPDATE outbox_head SET position = GREATEST(position, \(Int(position.trimmingCharacters(in: .whitespacesAndNewlines)) ?? -1))",
            url: new)

        let after = try ServeProcess(postgres: new)
        #expect(try code(after, secret) == "valid")
        #expect(try code(after, try #require(later["secret"] as? String)) == "not_found")
        let next = try after.result("keys.create", [
            "organizationId": "org_d", "name": "next", "kind": "owner_integration", "capabilities": ["booking.read"],
        ])
        let events = try after.result("events.list", ["cursor": cursor, "limit": 100])["events"] as? [[String: Any]]
        #expect(events?.map { $0["keyId"] as? String } == [(next["key"] as? [String: Any])?["id"] as? String])
        #expect(after.finish() == 0)
    }

    /// Runs one of PostgreSQL's client programs; its standard output.
    @discardableResult
    static func tool(_ name: String, _ arguments: [String]) throws -> String {
        let run = try ToolRun(name, arguments)
        #expect(run.succeeded, "\(name) \(arguments): \(run.errors)")
        return run.output
    }
}
