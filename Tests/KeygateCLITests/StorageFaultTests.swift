import Foundation
import GRDB
import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// Issue 8, storage faults: each gives a clear error, reads that can still
/// be served are served, and nothing acknowledged is lost.
@Suite("Storage faults", .serialized)
struct StorageFaultTests {
    /// Played with a file size limit: no tmpfs can be mounted here.
    @Test func aFullDiskRefusesWritesClearlyAndKeepsServingReads() throws {
        let serve = try ServeProcess(fileSizeLimitKiB: 2_048)
        _ = try serve.result("subscriptions.setPlan", ["organizationId": "org_0", "plan": "pro", "eventId": "e0", "occurredAt": "2026-11-01T00:00:00Z"])
        let first = try serve.result("keys.create", ["organizationId": "org_0", "name": "first", "kind": "owner_integration", "capabilities": ["booking.read"]])
        let firstSecret = first["secret"] as! String
        var acknowledged = 1
        var full: [String: Any]?
        // Many organizations with long names, until the file size limit is hit.
        for index in 1..<20_000 {
            let organization = "org_\(index / 20)"
            if index % 20 == 0 {
                _ = try serve.call("subscriptions.setPlan", ["organizationId": organization, "plan": "pro", "eventId": "e\(index)", "occurredAt": "2026-11-01T00:00:00Z"])
            }
            let reply = try serve.call("keys.create", [
                "organizationId": organization, "name": String(repeating: "n", count: 100), "kind": "owner_integration",
                "capabilities": ["booking.read"],
            ])
            if let error = reply["error"] as? [String: Any] {
                full = error["data"] as? [String: Any]
                break
            }
            acknowledged += 1
        }
        let refusal = try #require(full, "the file size limit was never reached")
        #expect(refusal["code"] as? String == "storage_failure")
        // A file size limit makes writes fail with EFBIG, which SQLite reports
        // as an I/O error; a really full disk (ENOSPC) as SQLITE_FULL. Both
        // messages say nothing was changed.
        let message = refusal["message"] as? String ?? ""
        #expect(message.contains("disk is full") || message.contains("could not be read or written"), "\(refusal)")
        #expect(message.contains("nothing was changed"))
        #expect(refusal["httpStatus"] as? Int == 503)
        // Reads are still served.
        #expect(try serve.result("keys.verify", ["key": firstSecret, "capability": "booking.read"])["valid"] as? Bool == true)
        #expect((try serve.result("keys.list", ["organizationId": "org_0"])["keys"] as? [Any])?.isEmpty == false)
        #expect(serve.finish() == 0)

        // Without the limit, everything acknowledged is there.
        let pool = try DatabasePool(path: serve.database.path)
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM api_key") } == acknowledged)
        #expect(try pool.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }

    /// A database file (and its folder) the server may read but not write:
    /// it starts, verifies and lists, refuses writes saying why, and keeps
    /// serving. Run as `nobody` when the tests run as root.
    @Test(.enabled(if: ServeProcess.canDropPrivileges)) func aReadOnlyDatabaseServesReadsAndRefusesWritesClearly() throws {
        let writer = try ServeProcess()
        _ = try writer.result("subscriptions.setPlan", ["organizationId": "org_ro", "plan": "pro", "eventId": "e1", "occurredAt": "2026-11-01T00:00:00Z"])
        let created = try writer.result("keys.create", ["organizationId": "org_ro", "name": "before", "kind": "owner_integration", "capabilities": ["booking.read"]])
        let secret = try #require(created["secret"] as? String)
        #expect(writer.finish() == 0)
        // As a writer stopped before naming secrets' key rows after
        // migration v13 leaves the file: a reader cannot finish that, and
        // finds the key through its id.
        let unlinked = try KeyDatabase.open(path: writer.database.path)
        try unlinked.write { db in
            try db.execute(sql: "UPDATE key_secret SET key_seq = NULL")
            try db.execute(sql: "INSERT INTO maintenance (task) VALUES ('link secrets to their key rows')")
        }
        try unlinked.close()

        let folder = writer.database.deletingLastPathComponent()
        let files = try FileManager.default.contentsOfDirectory(at: folder, includingPropertiesForKeys: nil)
        func setPermissions(files filePermissions: Int, folder folderPermissions: Int) throws {
            for file in files { try FileManager.default.setAttributes([.posixPermissions: filePermissions], ofItemAtPath: file.path) }
            try FileManager.default.setAttributes([.posixPermissions: folderPermissions], ofItemAtPath: folder.path)
        }
        try setPermissions(files: 0o444, folder: 0o555)
        defer { try? setPermissions(files: 0o644, folder: 0o755) }

        let serve = try ServeProcess(database: writer.database, unprivileged: true)
        #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        let refused = try serve.call("keys.create", ["organizationId": "org_ro", "name": "after", "kind": "owner_integration", "capabilities": ["booking.read"]])
        let refusal = try #require((refused["error"] as? [String: Any])?["data"] as? [String: Any])
        #expect(refusal["code"] as? String == "storage_failure")
        #expect(refusal["httpStatus"] as? Int == 503)
        #expect((refusal["message"] as? String)?.contains("read-only") == true, "\(refusal)")
        // Refused again and again, in a minute: one line in the log.
        for attempt in 0..<5 {
            let again = try serve.call("keys.create", ["organizationId": "org_ro", "name": "after \(attempt)", "kind": "owner_integration",
                                                       "capabilities": ["booking.read"]])
            #expect(((again["error"] as? [String: Any])?["data"] as? [String: Any])?["code"] as? String == "storage_failure")
        }
        #expect((try serve.result("keys.list", ["organizationId": "org_ro"])["keys"] as? [Any])?.count == 1)
        // A monitor sees it for as long as it lasts; a load balancer keeps
        // the process, which still verifies.
        let health = try serve.result("health.check")
        #expect(health["status"] as? String == "warn" && health["httpStatus"] as? Int == 200, "\(health)")
        let writes = (health["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "writes" }
        #expect(writes?["code"] as? String == "read_only", "\(health)")
        #expect((writes?["message"] as? String)?.contains("read-only") == true, "\(health)")
        #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        #expect(serve.finish() == 0)
        #expect(serve.stderr.contains("[KeygateCLI] the database is read-only to this process: keys are verified and read, "
            + "every change is refused; restart it once it may write the file and its folder"), "\(serve.stderr)")
        #expect(serve.stderr.components(separatedBy: "[KeygateRPC] storage failure").count - 1 == 1, "\(serve.stderr)")

        try setPermissions(files: 0o644, folder: 0o755)
        let pool = try DatabasePool(path: writer.database.path)
        #expect(try pool.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM api_key") } == 1)
        #expect(try pool.read { try String.fetchOne($0, sql: "PRAGMA integrity_check") } == "ok")
    }

    /// Another process holds what writes need for longer than the busy
    /// timeout (5 s): SQLite's write lock, or on PostgreSQL a table an
    /// operator's `psql` session locked and left open. Writes wait that
    /// long, then answer `busy` with nothing changed (on PostgreSQL they
    /// once waited for as long as the session stayed open, and every
    /// request behind them on the pipe with them); reads are served, and
    /// writes go through once the lock is gone.
    @Test(arguments: Backend.withPooler)
    func aDatabaseLockedLongerThanTheBusyTimeoutRefusesWritesButServesReads(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend)
        _ = try serve.result("subscriptions.setPlan", ["organizationId": "org_l", "plan": "pro", "eventId": "e", "occurredAt": "2026-11-01T00:00:00Z"])
        let created = try serve.result("keys.create", ["organizationId": "org_l", "name": "k", "kind": "owner_integration", "capabilities": ["booking.read"]])
        let secret = created["secret"] as! String

        let release = try Self.holdWrites(of: serve)
        #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        let blocked = try serve.call("keys.create", ["organizationId": "org_l", "name": "k2", "kind": "owner_integration", "capabilities": ["booking.read"]])
        let data = (blocked["error"] as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["code"] as? String == "storage_failure")
        #expect((data?["message"] as? String)?.contains("busy") == true, "\(blocked)")
        // The health check reads, as verification does: a write lock held
        // elsewhere is no failure of this process (OPERATIONS, "Health
        // checks"). Its flushes may be waiting on the lock too, and warn.
        let health = try serve.result("health.check")
        #expect(health["status"] as? String != "fail", "\(health)")
        let database = (health["checks"] as? [[String: Any]])?.first
        #expect(database?["id"] as? String == "database" && database?["status"] as? String == "pass", "\(health)")
        try release()
        #expect(try serve.result("keys.create", ["organizationId": "org_l", "name": "k3", "kind": "owner_integration", "capabilities": ["booking.read"]])["secret"] is String)
        #expect(serve.finish() == 0)
        #expect(serve.stderr.contains("method=keys.create reason=busy [KeygateRPC] storage failure"), "\(serve.stderr)")
        if backend != .sqlite {
            // Which wait ended is the operator's to know.
            #expect(serve.stderr.contains("detail=canceling statement due to lock timeout"), "\(serve.stderr)")
        }
    }

    /// A key `serve` does not hold in memory, looked up behind a lock only
    /// DDL takes (`LOCK TABLE … ACCESS EXCLUSIVE`, as `ALTER TABLE` or
    /// `VACUUM FULL` would), which reads wait for too: its verification
    /// answers `storage_failure` at `--answer-timeout`, the log says why,
    /// a key in memory is verified meanwhile, and once the lock is gone the
    /// same key is verified. Before answer timeouts the verification, and
    /// every request behind it on the pipe, waited as long as the lock.
    @Test(arguments: Backend.withPooler.filter { $0 != .sqlite })
    func aVerificationBehindALockAnswersAtItsAnswerTimeoutAndServingGoesOn(_ backend: Backend) throws {
        let serve = try ServeProcess(on: backend, arguments: ["--answer-timeout", "0.3"])
        let held = try serve.proKey(organization: "org_t", rateLimit: 60)["secret"] as! String
        #expect(try serve.result("keys.verify", ["key": held, "capability": "booking.read"])["valid"] as? Bool == true)
        // Created by another process: not in this one's memory.
        let other = try ServeProcess(sharing: serve)
        let missing = try other.result("keys.create", ["organizationId": "org_t", "name": "k2", "kind": "owner_integration",
                                                       "capabilities": ["booking.read"]])["secret"] as! String
        #expect(other.finish() == 0)
        let url = try #require(serve.postgres)
        let session = try OpenTransaction("LOCK TABLE key_secret IN ACCESS EXCLUSIVE MODE",
                                          url: serve.pooled ? Backend.directURL(of: url) : url)
        let refused = try serve.call("keys.verify", ["key": missing, "capability": "booking.read"])
        let data = (refused["error"] as? [String: Any])?["data"] as? [String: Any]
        #expect(data?["code"] as? String == "storage_failure" && (data?["message"] as? String)?.contains("busy") == true,
                "\(refused)")
        #expect(try serve.result("keys.verify", ["key": held, "capability": "booking.read"])["valid"] as? Bool == true)
        try session.end()
        #expect(try serve.result("keys.verify", ["key": missing, "capability": "booking.read"])["valid"] as? Bool == true)
        #expect(serve.finish() == 0)
        #expect(serve.stderr.contains("error keygate: detail=PostgreSQL did not answer within 300 ms; the statement was "
            + "canceled method=keys.verify reason=busy [KeygateRPC] storage failure"),
                "\(serve.stderr)")
    }

    /// Holds, from another session, what `serve`'s key creations need until
    /// the returned closure is called: SQLite's write lock, or PostgreSQL's
    /// keys table locked against writes (reads pass), in a transaction left open.
    private static func holdWrites(of serve: ServeProcess) throws -> () throws -> Void {
        if let url = serve.postgres {
            // Past the pooler, whose few server connections serve needs.
            let session = try OpenTransaction("LOCK TABLE api_key IN EXCLUSIVE MODE",
                                              url: serve.pooled ? Backend.directURL(of: url) : url)
            return session.end
        }
        let locker = try DatabaseQueue(path: serve.database.path)
        let locked = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        let ended = DispatchSemaphore(value: 0)
        let holder = Thread {
            try? locker.writeWithoutTransaction { db in
                try db.execute(sql: "BEGIN IMMEDIATE")
                locked.signal()
                // Bounded: a test that fails before releasing it frees it too.
                _ = released.wait(timeout: .now() + 60)
                try db.execute(sql: "ROLLBACK")
            }
            ended.signal()
        }
        holder.start()
        locked.wait()
        return {
            released.signal()
            ended.wait()
        }
    }

    @Test func aCorruptedDatabaseFileStopsStartupWithAClearMessage() throws {
        let directory = try ScratchFolder.make("keygate-corrupt")
        defer { try? FileManager.default.removeItem(at: directory) }
        let database = directory.appending(path: "keygate.sqlite")
        var random = SeededRandom(seed: 7)
        try Data((0..<16_384).map { _ in UInt8(truncatingIfNeeded: random.next()) }).write(to: database)
        let serve = try ServeProcess(database: database)
        #expect(serve.waitForExit() == 1)
        #expect(serve.stderr.contains("is damaged or not a Keygate database"), "\(serve.stderr)")
        #expect(serve.stdoutLines.isEmpty)
    }

    /// A table gone from under a serving process (a hand-made change, a
    /// half-restored file): writes that need it answer storage_failure,
    /// nothing changed, and the log says which table (it once said only
    /// "reason=other").
    @Test func aTableGoneFromTheSchemaIsNamedInTheLog() throws {
        let serve = try ServeProcess()
        _ = try serve.proKey(organization: "org_gone", rateLimit: 60)
        try DatabaseQueue(path: serve.database.path).write { db in try db.execute(sql: "DROP TABLE outbox_event") }
        let refused = try serve.call("keys.create", ["organizationId": "org_gone", "name": "k2", "kind": "owner_integration",
                                                     "capabilities": ["booking.read"]])
        #expect(((refused["error"] as? [String: Any])?["data"] as? [String: Any])?["code"] as? String == "storage_failure",
                "\(refused)")
        #expect(try serve.result("keys.list", ["organizationId": "org_gone"])["keys"] as? [Any] != nil)
        #expect(serve.finish() == 0)
        #expect(serve.stderr.contains("detail=no such table: outbox_event method=keys.create reason=other "
            + "[KeygateRPC] storage failure"), "\(serve.stderr)")
    }

    /// The disk full when the server starts. A key's first verification
    /// writes a page of the rate-limit table nothing wrote before; the
    /// table's pages have their disk blocks from its creation, so
    /// verification goes on (in a sparse table that write was a SIGBUS,
    /// which ended the process at its first verification). A table an
    /// earlier version left sparse, which cannot get its blocks now, is
    /// left for limits of the process's own, and the log says why.
    @Test(.enabled(if: FullDisk.canMount, "mounting a file system to fill needs root"))
    func aFullDiskLeavesVerificationStanding() throws {
        let disk = try FullDisk(megabytes: 32)
        defer { disk.release() }
        let whole = disk.url.appending(path: "keygate.sqlite"), sparse = disk.url.appending(path: "earlier.sqlite")
        var secrets: [URL: [String]] = [:]
        for database in [whole, sparse] {
            let serve = try ServeProcess(database: database)
            secrets[database] = try (0..<5).map { try serve.proKey(organization: "org_f\($0)", rateLimit: 60)["secret"] as! String }
            #expect(serve.finish() == 0)
        }
        let table = sparse.path + "-limits"
        // As an earlier version left it: holes where nothing was written.
        let copy = try ToolRun("sh", ["-c", "cp --sparse=always \"$0\" \"$0.copy\" && mv \"$0.copy\" \"$0\"", table])
        #expect(copy.succeeded, "\(copy.errors)")
        disk.fill()

        for database in [whole, sparse] {
            let serve = try ServeProcess(database: database)
            for secret in secrets[database]! {
                let verified = try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])
                #expect(verified["valid"] as? Bool == true, "\(verified)")
            }
            let health = try serve.result("health.check")
            let limits = (health["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "rateLimits" }
            #expect(limits?["status"] as? String == (database == sparse ? "warn" : "pass"), "\(health)")
            #expect(limits?["code"] as? String == (database == sparse ? "rate_limits_own" : nil), "\(health)")
            // Full, and said so before: the disk check warns, and the log said it at start.
            let disk = (health["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "disk" }
            #expect(disk?["code"] as? String == "low_disk_space" && disk?["observedUnit"] as? String == "MiB", "\(health)")
            #expect((disk?["observedValue"] as? Int).map { $0 < 32 } == true, "\(health)")
            #expect((disk?["message"] as? String)?.contains("less than the 100 MiB it should keep") == true, "\(health)")
            #expect(serve.finish() == 0, "\(serve.stderr)")
            #expect(serve.stderr.contains("the database's disk is nearly full"), "\(serve.stderr)")
            let apart = "cannot reserve disk space for \(table): No space left on device"
            #expect(serve.stderr.contains(apart) == (database == sparse), "\(serve.stderr)")
        }
    }

    /// Keys' usage file could not be written when the server started (a
    /// restore left it read-only, say): verification goes on, the log
    /// names the file and says why, and once it can be written the counts
    /// kept meanwhile land, without a restart, none lost. A server stopped
    /// before then says that its unwritten counts are lost.
    @Test(.enabled(if: UnwritableFile.canMake, "this user can make no file unwritable to itself"))
    func countsKeptWhileTheUsageFileCannotBeWrittenLandOnceItCan() throws {
        let first = try ServeProcess()
        let created = try first.proKey(organization: "org_u", rateLimit: 1000)
        let secret = created["secret"] as! String
        let keyId = (created["key"] as! [String: Any])["id"] as! String
        #expect(first.finish() == 0)
        let usagePath = first.database.path + "-usage"
        let locked = try UnwritableFile(usagePath)
        defer { locked.release() }

        let serve = try ServeProcess(database: first.database)
        for _ in 0..<3 {
            #expect(try serve.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        }
        let why = "\(usagePath): this process may read the file but not write it"
        #expect(serve.logs(why), "\(serve.stderr)")
        #expect(serve.stderr.contains("usage flush failed"))
        // A monitor sees it while it lasts: the counts are only in memory.
        let failing = try serve.result("health.check")
        #expect(failing["status"] as? String == "warn" && failing["httpStatus"] as? Int == 200, "\(failing)")
        let usage = (failing["checks"] as? [[String: Any]])?.first { $0["id"] as? String == "usage" }
        #expect(usage?["code"] as? String == "flush_failing" && usage?["observedUnit"] as? String == "s", "\(failing)")
        #expect((usage?["message"] as? String)?.contains("read-only to this process") == true, "\(failing)")

        locked.release()
        #expect(try serve.validUsage(of: keyId, in: "org_u", reaching: 3) == 3)
        // Well again once the flush that wrote them has returned (bounded: 50 tries of 20 ms).
        var health = try serve.result("health.check")
        for _ in 0..<50 where health["status"] as? String != "pass" {
            usleep(20_000)
            health = try serve.result("health.check")
        }
        #expect(health["status"] as? String == "pass", "\(health)")
        #expect(serve.finish() == 0)
        #expect(!serve.stderr.contains("is lost"))
        // One line for the failures of that minute, one for their end.
        #expect(serve.stderr.components(separatedBy: "usage flush failed").count - 1 == 1, "\(serve.stderr)")
        #expect(serve.stderr.contains("[KeygateCLI] usage flush succeeded again: the counts kept meanwhile are written"))

        // Stopped while the file cannot be written, a server says what it lost.
        let relocked = try UnwritableFile(usagePath)
        defer { relocked.release() }
        let stopping = try ServeProcess(database: first.database)
        #expect(try stopping.result("keys.verify", ["key": secret, "capability": "booking.read"])["valid"] as? Bool == true)
        #expect(stopping.finish() == 0)
        #expect(stopping.stderr.contains("error keygate: reason=storage_failure: detail=\(why), reason=read_only [KeygateCLI] "
            + "usage counted since the last written flush is lost: the last flush before stopping failed"), "\(stopping.stderr)")
    }

    /// Started with few file descriptors, the server refuses to start,
    /// saying what to check, or it answers correctly and logs each fast
    /// read it could not set up, and each flush that fails: every limit
    /// from too few to start with to enough for everything. (It crashed
    /// at some: libdispatch opens its event loop on first use, and crashes
    /// when no descriptor is left.)
    @Test func withFewFileDescriptorsTheServerRefusesToStartOrAnswersCorrectlySayingWhatIsSlower() throws {
        let first = try ServeProcess()
        let created = try first.proKey(organization: "org_fd", rateLimit: 1000)
        let secret = created["secret"] as! String
        #expect(first.finish() == 0)
        let verify = #"{"jsonrpc":"2.0","id":1,"method":"keys.verify","params":{"key":"\#(secret)","capability":"booking.read"}}"#
        // Each documented in OPERATIONS, "Files beside the database".
        let documented = [
            "reading more slowly: a fast read could not be set up", "rate limits are this process's own",
            "usage flush failed", "usage counted since the last written flush is lost",
        ]
        var (refused, whole, unwatched) = (0, 0, 0)
        for limit in (10...40).reversed() {
            let serve = try ServeProcess(database: first.database, openFilesLimit: limit)
            serve.send(verify)
            let status = serve.finish()
            let stderr = serve.stderr
            if status == 1 {
                #expect(stderr.contains("the limit on open files (ulimit -n)"),
                        "limit \(limit): \(stderr)")
                #expect(serve.stdoutLines.isEmpty)
                refused += 1
                continue
            }
            #expect(status == 0, "limit \(limit): \(stderr)")
            #expect(serve.stdoutLines.count == 1 && serve.stdoutLines[0].contains(#""valid":true"#),
                    "limit \(limit): \(serve.stdoutLines) \(stderr)")
            let warnings = stderr.split(separator: "\n").filter { !$0.contains(" info keygate: ") }
            #expect(warnings.allSatisfy { line in documented.contains { line.hasSuffix($0) || line.contains("] \($0):") } },
                    "limit \(limit): \(stderr)")
            if warnings.isEmpty { whole += 1 }
            if stderr.contains("missing=change watcher:") { unwatched += 1 }
        }
        #expect(refused > 0 && whole > 0 && unwatched > 0, "refused \(refused), whole \(whole), without a watcher \(unwatched)")
    }
}
