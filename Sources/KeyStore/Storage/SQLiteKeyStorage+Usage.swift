public import Foundation
import GRDB
import GRDBSQLite
import Locking

extension SQLiteKeyStorage {
    public func recordUsage(_ increments: [UsageIncrement]) throws(KeyStoreError) {
        try flush(usage: increments, meters: [], identity: UUID().uuidString, changesSeen: nil)
    }

    public func flush(usage increments: [UsageIncrement], meters: [MeterIncrement], identity: String, changesSeen: Int64?)
        throws(KeyStoreError)
    {
        // Flushes come every second or so, also when nothing was counted:
        // the moment to let go of verification's shared read transaction,
        // should look-ups have paused with it open.
        releaseLookup()
        if increments.isEmpty, let usageFile, usageFile.owesDeletions { try usageFile.writeCounts { _ in } }
        guard !increments.isEmpty || !meters.isEmpty else { return }
        guard let usageFile else {
            // The database holds keys' counts itself (in memory, or where
            // SQLite attaches no usage file): one transaction for both.
            try writeMeters(identity) { db in
                try addToMeters(meters, changesSeen: changesSeen, db)
                try addKeyUsage(increments, keysInFile: true, db)
            }
            return
        }
        // Each file's part in a transaction of its own, recorded under the
        // batch's identity in that file: sent again after a failure, the
        // batch adds each part once, whichever of them had committed.
        if !increments.isEmpty {
            try usageFile.writeCounts { db in
                guard try recordFlush(identity, db) else { return }
                try addKeyUsage(increments, keysInFile: false, db)
            }
        }
        guard !meters.isEmpty else { return }
        try writeMeters(identity) { db in try addToMeters(meters, changesSeen: changesSeen, db) }
    }

    public func foldUsage(before: Date, due: Date, after cursor: String?, keys: Int) throws(KeyStoreError) -> UsageFold {
        let (cutoff, due) = (StorageCoding.day(before), StorageCoding.day(due))
        func step(_ db: Database) throws -> (fold: UsageFold, keys: [String]) {
            try Self.foldStep(cutoff: cutoff, due: due, after: cursor ?? "", keys: keys, db)
        }
        guard let usageFile else { return try write(step).fold }
        let (fold, visited) = try usageFile.write(step)
        guard !visited.isEmpty else { return fold }
        // In the usage file a key's rows outlive it where no one deleted
        // them: a process stopped between a deletion's commit and its
        // write there, or a process of an earlier version that flushed
        // counts taken before it. The keys the step went through that the
        // database no longer has are gone for good, so their rows go now,
        // whenever this read was.
        let existing = try read { db in
            try Set(String.fetchAll(db, sql: "SELECT id FROM api_key WHERE id IN (SELECT value FROM json_each(?))",
                                    arguments: [StorageCoding.jsonArray(visited)]))
        }
        let gone = visited.filter { !existing.contains($0) }
        if !gone.isEmpty { try usageFile.write { db in try UsageFile.deleteCounts(of: gone, db) } }
        return fold
    }

    /// One step of a folding pass, in the usage file (or the database
    /// where it holds keys' counts). A key's rows lie together under its
    /// id, so each key is found by a seek past the one before it, and its
    /// days are read, summed and deleted where they lie: a fold by day
    /// instead rewrote a page of every key for each day folded (70 MB of
    /// log for a day of 10,000 keys; docs/PERFORMANCE.md).
    ///
    /// Returns the step's outcome and the keys it went through.
    private static func foldStep(cutoff: String, due: String, after cursor: String, keys: Int, _ db: Database) throws
        -> (fold: UsageFold, keys: [String])
    {
        let nextKey = try db.cachedStatement(sql: "SELECT key_id FROM key_usage_day WHERE key_id > ? ORDER BY key_id LIMIT 1")
        let oldestDay = try db.cachedStatement(sql: """
            SELECT day FROM key_usage_day WHERE key_id = ? AND day > ? ORDER BY day LIMIT 1
            """)
        // SQLite takes the bare last_origin and last_ip from the row whose
        // last_used_at is the greatest; merged into the folded row as a
        // flush merges a last use, by time.
        let fold = try db.cachedStatement(sql: """
            INSERT INTO key_usage_day (key_id, day, valid, invalid, last_used_at, last_origin, last_ip)
            SELECT key_id, ?2, SUM(valid), SUM(invalid), MAX(last_used_at), last_origin, last_ip
            FROM key_usage_day WHERE key_id = ?1 AND day > ?2 AND day < ?3 GROUP BY key_id
            ON CONFLICT (key_id, day) DO UPDATE SET \(StorageCoding.dayRowMerge)
            """)
        let deleteCounts = try db.cachedStatement(sql: "DELETE FROM key_usage_count WHERE key_id = ?1 AND day > ?2 AND day < ?3")
        let deleteDays = try db.cachedStatement(sql: "DELETE FROM key_usage_day WHERE key_id = ?1 AND day > ?2 AND day < ?3")
        var key = cursor
        var folded = 0
        var visited: [String] = []
        for _ in 0..<keys {
            guard let next = try String.fetchOne(nextKey, arguments: [key]) else {
                return (UsageFold(folded: folded, next: nil), visited)
            }
            key = next
            visited.append(key)
            guard let oldest = try String.fetchOne(oldestDay, arguments: [key, StorageCoding.foldedDay]), oldest < due else {
                continue
            }
            let range: StatementArguments = [key, StorageCoding.foldedDay, cutoff]
            try fold.execute(arguments: range)
            try deleteCounts.execute(arguments: range)
            try deleteDays.execute(arguments: range)
            folded += db.changesCount
        }
        return (UsageFold(folded: folded, next: key), visited)
    }

    /// A flush batch's part in the database, once per identity.
    private func writeMeters(_ identity: String, _ body: (Database) throws -> Void) throws(KeyStoreError) {
        // No copy of the log started by this batch's commit: the flush
        // copies it once when its batches are done (``checkpoint()``), and
        // then lets commits start copies again, rather than copying pages
        // its next batches write again. (Left to SQLite, the batch whose
        // commit passed the 4,000-page mark copied the log inside that
        // commit, 10-40 ms during which every other write waited.)
        checkpointer?.pause()
        do {
            try write { db in
                guard try recordFlush(identity, db) else { return }
                try body(db)
            }
        } catch {
            // The checkpoint that would have resumed them will not come.
            checkpointer?.resume()
            throw error
        }
    }

    /// Records a flush batch's identity in the `usage_flush` of `db`'s own
    /// file (the database's, or the usage file's for keys' counts: each
    /// file has one); false if it was there already, and then the batch
    /// adds nothing there (see the protocol).
    private func recordFlush(_ identity: String, _ db: Database) throws -> Bool {
        try db.cachedStatement(sql: "DELETE FROM main.usage_flush WHERE flushed_at < ?")
            .execute(arguments: [StorageCoding.milliseconds(now) - Self.flushIdentityLifetime])
        try db.cachedStatement(sql: "INSERT INTO main.usage_flush (flush_id, flushed_at) VALUES (?, ?) ON CONFLICT DO NOTHING")
            .execute(arguments: [identity, StorageCoding.milliseconds(now)])
        return db.changesCount == 1
    }

    /// Adds a batch's counts to its organizations' meters, with the
    /// threshold events they cross.
    private func addToMeters(_ meters: [MeterIncrement], changesSeen: Int64?, _ db: Database) throws {
        guard meters.contains(where: { $0.amount > 0 }) else { return }
        // Counted before an erasure of their organization that the
        // counting process had not seen: the erasure took what was
        // written, and this goes with it. Read in the write transaction,
        // after every erasure that committed before it.
        let erased = try changesSeen.map { seen in
            try Set(String.fetchAll(db.cachedStatement(sql: Self.erasedSinceQuery), arguments: [seen]))
        } ?? []
        let meters = erased.isEmpty ? meters : meters.filter { !erased.contains($0.organizationId) }
        guard meters.contains(where: { $0.amount > 0 }) else { return }
        // The count version moves, and the rows this flush moves carry
        // the new one (``meterChanges(meter:after:through:)``).
        let version = try Int64.fetchOne(
            db.cachedStatement(sql: "UPDATE count_log SET version = version + 1 RETURNING version")) ?? 0
        let now = self.now
        let addToMeter = try db.statement(cached: Self.addToMeterQuery)
        for increment in meters where increment.amount > 0 {
            let used = try db.run(addToMeter) { row in
                RawStatement.firstFailure(
                    row.bind(1, text: increment.organizationId), row.bind(2, text: increment.meter),
                    row.bind(3, int: StorageCoding.milliseconds(increment.periodStart)),
                    row.bind(4, int: Int64(increment.amount)), row.bind(5, int: version))
            }.map(Int.init) ?? increment.amount
            for event in increment.thresholdEvents(usedAfter: used) { try insertEvent(event, at: now, db) }
        }
    }

    /// Organizations erased after a change-log position (`?1`). A range of
    /// the log's key, from a position a flush had just caught up with.
    static let erasedSinceQuery = "SELECT DISTINCT organization_id FROM change_event WHERE seq > ? AND erased"

    /// Adds to an organization's (`?1`) meter (`?2`) in a period (`?3`)
    /// an amount (`?4`) under a count version (`?5`), returning the count
    /// after it: a flush, and a carry into an earlier start, move a count so.
    static let addToMeterQuery = """
        INSERT INTO meter_usage (organization_id, meter, period_start, used, version) VALUES (?1, ?2, ?3, ?4, ?5)
        ON CONFLICT (organization_id, meter, period_start) DO UPDATE SET
            used = used + excluded.used, version = excluded.version
        RETURNING used
        """

    /// Adds a batch's counts to its keys' days. `keysInFile`: the keys are
    /// in the same database, and the counts of one deleted meanwhile are
    /// dropped; in the usage file, those of a key its deletion named there
    /// (``UsageFile/forget(keyIds:at:whenCommitted:)``): a deletion that
    /// commits while this batch is written deletes them after it.
    private func addKeyUsage(_ increments: [UsageIncrement], keysInFile: Bool, _ db: Database) throws {
        let keyExists = keysInFile
            ? " WHERE EXISTS (SELECT 1 FROM api_key WHERE id = ?1)"
            : " WHERE NOT EXISTS (SELECT 1 FROM key_forgotten WHERE key_id = ?1)"
        // Prepared once per connection, bound by position through SQLite's
        // own API: a flush writes tens of thousands of rows a second.
        // The last use goes into the day's row too (every expression of
        // the update reads the row as it was): one row per key and flush.
        let addDay = try db.statement(cached: """
            INSERT INTO key_usage_day (key_id, day, valid, invalid, last_used_at, last_origin, last_ip)
            SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7\(keyExists)
            ON CONFLICT (key_id, day) DO UPDATE SET \(StorageCoding.dayRowMerge)
            """)
        let addCount = try db.statement(cached: """
            INSERT INTO key_usage_count (key_id, day, dimension, name, count)
            SELECT ?1, ?2, ?3, ?4, ?5\(keyExists)
            ON CONFLICT (key_id, day, dimension, name) DO UPDATE SET count = count + excluded.count
            """)
        // Nearly every increment of a flush is of the same day.
        var day: (date: Date, text: String)?
        for increment in increments {
            if day?.date != increment.day { day = (increment.day, StorageCoding.day(increment.day)) }
            let dayText = day!.text
            try db.run(addDay) { row in
                RawStatement.firstFailure(
                    row.bind(1, text: increment.keyId), row.bind(2, text: dayText),
                    row.bind(3, int: Int64(max(0, increment.valid))), row.bind(4, int: Int64(max(0, increment.invalid))),
                    row.bind(5, int: increment.lastUsedAt.map(StorageCoding.milliseconds)),
                    row.bind(6, text: increment.lastOrigin), row.bind(7, text: increment.lastIP))
            }
            for count in increment.breakdown {
                try db.run(addCount) { row in
                    RawStatement.firstFailure(
                        row.bind(1, text: increment.keyId), row.bind(2, text: dayText),
                        row.bind(3, text: count.dimension), row.bind(4, text: count.name),
                        row.bind(5, int: Int64(count.count)))
                }
            }
        }
    }
}

/// The usage file's writer (``KeyDatabase/usagePath(for:)``), opened with
/// the store, and again when next needed if it could not be then: a file
/// this process could not write when it started (no file descriptor left,
/// permissions mended since) takes the counts once it can, without a
/// restart. Until then every flush fails saying why, and keeps its counts.
final class UsageFile: Sendable {
    let path: String
    private let opened: Locked<DatabaseQueue?>

    init(path: String) {
        self.path = path
        opened = Locked(try? Self.open(path))
    }

    /// Runs `body` in a write transaction of the file, opening its writer
    /// now if it is not open; a failure to open or write names the file
    /// and says why (`detail`, for the operator's log). After the commit,
    /// a log grown past its limit is emptied (``emptyLogIfPastLimit(_:)``).
    func write<T>(_ body: (Database) throws -> T) throws(KeyStoreError) -> T {
        let writer = try writer()
        let result: T
        do {
            result = try writer.write(body)
        } catch {
            throw failure(error)
        }
        emptyLogIfPastLimit(writer)
        return result
    }

    /// The writer, opened now if it is not open.
    private func writer() throws(KeyStoreError) -> DatabaseQueue {
        try opened.withLock { (writer) throws(KeyStoreError) -> DatabaseQueue in
            if let writer { return writer }
            do {
                let queue = try Self.open(path)
                writer = queue
                return queue
            } catch {
                throw failure(error)
            }
        }
    }

    /// A failure to open or write the file, naming it and with SQLite's
    /// words as `detail`: the flush's only report is the operator's log.
    private func failure(_ error: any Error) -> KeyStoreError {
        StorageCoding.failure(error, detailing: path)
    }

    private static func open(_ path: String) throws -> DatabaseQueue {
        let queue = try KeyDatabase.openUsage(path: path)
        // SQLite opens a file it may not write read-only, without a word;
        // kept, such a writer would fail every flush until a restart.
        let readOnly = queue.inDatabase { db in sqlite3_db_readonly(db.sqliteConnection, "main") == 1 }
        guard readOnly else { return queue }
        try? queue.close()
        throw DatabaseError(resultCode: .SQLITE_READONLY, message: "this process may read the file but not write it")
    }

    /// Deletes deleted keys' counts (one key's, or an erased
    /// organization's, in one transaction): at once if their deletion has
    /// committed, else once `transaction`, the connection of the unit of
    /// work it is part of, commits (and never if it rolls back).
    ///
    /// Nothing ties the two files' commits together, so each key is named
    /// here for a day (`key_forgotten`, at `now`) and no flush writes its
    /// counts meanwhile: another process that counted verifications of it
    /// before it learned of the deletion flushes them afterwards. A write
    /// that fails here is tried again before the next flush's. Rows are
    /// left only by a process stopped between the deletion's commit and
    /// this write; they are never read, since every read of them goes
    /// through the key, and a folding step that goes through the key
    /// deletes them (``SQLiteKeyStorage/foldUsage(before:due:after:keys:)``).
    func forget(keyIds: [String], at now: Date, whenCommitted transaction: Database?) {
        guard !keyIds.isEmpty else { return }
        let forgotten = Dictionary(keyIds.map { ($0, StorageCoding.milliseconds(now)) }, uniquingKeysWith: max)
        @Sendable func forget() {
            do {
                try write { db in try Self.forget(forgotten, db) }
            } catch {
                owed.withLock { $0.merge(forgotten, uniquingKeysWith: max) }
            }
        }
        guard let transaction else { return forget() }
        transaction.afterNextTransaction { _ in forget() }
    }

    /// Whether deletions of keys' counts failed and wait for the next write.
    var owesDeletions: Bool {
        owed.withLock { !$0.isEmpty }
    }

    /// Runs `body` in a write transaction of the file after the deletions
    /// of keys' counts that failed before: a flush writes nothing of a
    /// deleted key that was not yet named.
    func writeCounts<T>(_ body: (Database) throws -> T) throws(KeyStoreError) -> T {
        let owed = self.owed.withLock { $0 }
        let result = try write { db in
            try Self.forget(owed, db)
            return try body(db)
        }
        guard !owed.isEmpty else { return result }
        self.owed.withLock { current in
            for (keyId, at) in owed where current[keyId] == at { current[keyId] = nil }
        }
        return result
    }

    /// Empties the file's log if it grew past ``KeyDatabase/logSizeLimit``
    /// (``KeyDatabase/logIsPastLimit(_:)``); the writer's own checkpoints,
    /// inside its commits, start the log over but never shrink it. Never
    /// waits: with a reader on the log, the next write tries again.
    private func emptyLogIfPastLimit(_ writer: DatabaseQueue) {
        guard KeyDatabase.logIsPastLimit(path) else { return }
        writer.inDatabase { db in
            guard let connection = db.sqliteConnection else { return }
            _ = KeyDatabase.checkpointWithoutWaiting(connection, mode: SQLITE_CHECKPOINT_TRUNCATE)
        }
    }

    /// Deleted keys whose counts this process failed to delete, each with
    /// when its deletion committed (in milliseconds).
    private let owed = Locked<[String: Int64]>([:])

    /// Deletes the keys' counts and names them for a day in `db`, the
    /// usage file's writer (each with when its deletion committed),
    /// forgetting names older than that.
    private static func forget(_ forgotten: [String: Int64], _ db: Database) throws {
        guard let latest = forgotten.values.max() else { return }
        try deleteCounts(of: Array(forgotten.keys), db)
        let name = try db.cachedStatement(sql: """
            INSERT INTO key_forgotten (key_id, forgotten_at) VALUES (?, ?)
            ON CONFLICT (key_id) DO UPDATE SET forgotten_at = MAX(forgotten_at, excluded.forgotten_at)
            """)
        for (keyId, at) in forgotten {
            try name.execute(arguments: [keyId, at])
        }
        try db.cachedStatement(sql: "DELETE FROM key_forgotten WHERE forgotten_at < ?")
            .execute(arguments: [latest - forgottenLifetime])
    }

    /// Deletes the keys' counts, in `db`, the usage file's writer.
    static func deleteCounts(of keyIds: [String], _ db: Database) throws {
        let day = try db.cachedStatement(sql: "DELETE FROM key_usage_day WHERE key_id = ?")
        let count = try db.cachedStatement(sql: "DELETE FROM key_usage_count WHERE key_id = ?")
        for keyId in keyIds {
            try day.execute(arguments: [keyId])
            try count.execute(arguments: [keyId])
        }
    }

    /// How long a deleted key is named: far longer than a process keeps
    /// counts it could not write (as a flush's identity is remembered).
    static let forgottenLifetime = SQLiteKeyStorage.flushIdentityLifetime
}

extension SQLiteKeyStorage {
    public func meterChanges(meter: String, after: Int64, through: Int64) throws(KeyStoreError) -> [MeterChange] {
        // Read after every flush batch, here and in other processes: on
        // verification's reader, without GRDB's row per change.
        if let reader = verificationReader {
            return try Self.reading { () throws(SQLiteFailure) in
                try reader.meterChanges(meter: meter, after: after, through: through)
            }
        }
        return try lookup { db in
            let rows = try Row.fetchCursor(db.cachedStatement(sql: Self.meterChangesQuery), arguments: [after, through, meter])
            var changes: [MeterChange] = []
            while let row = try rows.next() {
                changes.append(MeterChange(organizationId: row[0], meter: meter,
                                           periodStart: StorageCoding.date(row[1] as Int64), used: row[2]))
            }
            return changes
        }
    }

    /// The counts of a meter (`?3`) that flushes moved after count version
    /// `?1`, through `?2`; the reader and the fallback read the same.
    static let meterChangesQuery = """
        SELECT organization_id, period_start, used FROM meter_usage
        WHERE version > ?1 AND version <= ?2 AND meter = ?3
        """

    /// How long a flush's identity is remembered: far longer than any retry waits.
    static let flushIdentityLifetime: Int64 = 86_400_000

    public func usageDays(organizationId: String, keyId: String?, from: Date, to: Date) throws(KeyStoreError) -> [UsageDay] {
        let organizationId = try validator.organizationId(organizationId)
        let (first, last) = try validator.usageDays(from: from, to: to)
        return try read { db in
            if let keyId { _ = try fetchKey(id: keyId, organizationId: organizationId, db) }
            let queries = UsageDay.queries(forKey: keyId != nil, marker: "?")
            let arguments: StatementArguments = [keyId ?? organizationId, first, last]
            return UsageDay.days(
                keyId: keyId,
                totals: try Row.fetchAll(db.cachedStatement(sql: queries.totals), arguments: arguments)
                    .map { ($0[0], $0[1], $0[2]) },
                counts: try Row.fetchAll(db.cachedStatement(sql: queries.counts), arguments: arguments)
                    .map { ($0[0], $0[1], $0[2], $0[3]) })
        }
    }
}
