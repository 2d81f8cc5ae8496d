import Foundation
import Testing
@testable import KeyStore

/// The rate-limit table beside a database file (`<path>-limits`), which
/// every process on the file shares: made once, used as found, and never
/// made again over a table this version cannot read.
@Suite("Rate-limit table beside the database")
struct RateLimitFileTests {
    func folder() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appending(path: "keygate-limits-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    @Test func aNewFileGetsATableThatTheNextStoreShares() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let first = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        let second = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        #expect(first.rateLimitsUnavailable == nil && second.rateLimitsUnavailable == nil)
        let limits = try #require(first.rateLimits), shared = try #require(second.rateLimits)
        // A 60/min key's burst of 60, taken through either store.
        let admitted = (0..<100).filter { index in
            let table = index.isMultiple(of: 2) ? limits : shared
            if case .allowed = table.admit(42, limit: 60, cost: 1, at: 1_000_000) { return true }
            return false
        }
        #expect(admitted.count == 60)
    }

    /// A table whose maker died before writing its header (the header is
    /// written last) is made again; one with another table's header, or
    /// of another size, is left byte for byte: other processes may hold
    /// its locks. The store then says why its limits are its own.
    @Test func aTableThisVersionCannotReadIsLeftAsItIsAndSaidSo() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let limits = URL(filePath: path + "-limits")

        try Data(count: SharedRateTable.fileSize).write(to: limits)
        let unfinished = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        #expect(unfinished.rateLimits != nil && unfinished.rateLimitsUnavailable == nil)

        var otherVersion = Data(count: SharedRateTable.fileSize)
        otherVersion.replaceSubrange(0..<8, with: Data("99ETARGK".utf8))
        try otherVersion.write(to: limits)
        let refused = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        #expect(refused.rateLimits == nil)
        #expect(refused.rateLimitsUnavailable == "\(limits.path) holds another version's rate-limit table "
            + "(another version of Keygate or another program made it)")
        #expect(try Data(contentsOf: limits) == otherVersion)

        let small = Data("not a table".utf8)
        try small.write(to: limits)
        let wrongSize = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        #expect(wrongSize.rateLimits == nil)
        #expect(wrongSize.rateLimitsUnavailable?.hasPrefix("\(limits.path) is 11 bytes, not the \(SharedRateTable.fileSize) of") == true)
        #expect(try Data(contentsOf: limits) == small)
    }

    /// A table removed while a store uses it (a clean-up of files that
    /// looked stale): a process started since makes a new one, and the
    /// store moves to it at its next look, so the two share one limit a
    /// key again, and says so once.
    @Test func aRemovedTableIsFollowedToTheOneThatReplacedIt() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let running = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        let old = try #require(running.rateLimits)
        #expect(running.takeFileChanges() == [])

        try FileManager.default.removeItem(atPath: path + "-limits")
        let started = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        let new = try #require(started.rateLimits)
        func admitted(_ tag: UInt64) -> Int {
            (0..<100).filter { index in
                if case .allowed = (index.isMultiple(of: 2) ? old : new).admit(tag, limit: 60, cost: 1, at: 1_000_000) { return true }
                return false
            }.count
        }
        #expect(admitted(7) == 100, "apart, each table gives the key a burst of its own")

        #expect(running.takeFileChanges() == [.rateLimitsRejoined(path: path + "-limits")])
        #expect(admitted(8) == 60)
        #expect(running.takeFileChanges() == [])
    }

    /// The table left behind stays mapped for a minute (a verification
    /// may still be in it), then goes: a file removed every minute costs
    /// no more mappings as the months pass.
    @Test func aTableLeftBehindIsUnmappedAMinuteLater() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let running = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        let table = try #require(running.rateLimits as? SharedRateTable)
        let start: UInt64 = 1_000
        for round in 0..<3 {
            try FileManager.default.removeItem(atPath: path + "-limits")
            #expect(table.followReplacement(at: start + UInt64(round)) == .rejoined(path: path + "-limits"))
        }
        #expect(table.retiredTables == 3)
        #expect(table.followReplacement(at: start + SharedRateTable.retiredFor) == .same)
        #expect(table.retiredTables == 2, "the first, left a minute ago, is gone")
        #expect(table.followReplacement(at: start + 2 + SharedRateTable.retiredFor) == .same)
        #expect(table.retiredTables == 0)
        if case .allowed = table.admit(5, limit: 60, cost: 1, at: 1_000_000) {} else { Issue.record("the table in use admits") }
    }

    /// A table replaced by one this version cannot use: the store keeps
    /// the one it has, says why once, and joins a usable table once one
    /// is there.
    @Test func aTableReplacedByOneThatCannotBeUsedIsKeptUntilAUsableOneComes() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let limits = path + "-limits"
        let running = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        let table = try #require(running.rateLimits)

        try FileManager.default.removeItem(atPath: limits)
        try Data("not a table".utf8).write(to: URL(filePath: limits))
        let changes = running.takeFileChanges()
        #expect(changes.count == 1)
        guard case .rateLimitsApart(let reason)? = changes.first else {
            Issue.record("\(changes)")
            return
        }
        #expect(reason.hasPrefix("\(limits) is 11 bytes, not the"))
        #expect(running.takeFileChanges() == [], "the same reason is said once")
        if case .allowed = table.admit(9, limit: 60, cost: 1, at: 1_000_000) {} else { Issue.record("the kept table admits") }

        try FileManager.default.removeItem(atPath: limits)
        #expect(running.takeFileChanges() == [.rateLimitsRejoined(path: limits)])
        #expect(FileManager.default.fileExists(atPath: limits))
    }

    /// A database, or its usage file, moved away under the store: the
    /// store says so once, and once more when it is back.
    @Test func aDatabaseMovedFromUnderTheStoreIsSaidOnceAndItsReturnToo() throws {
        let directory = try folder()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appending(path: "keygate.sqlite").path
        let running = try SQLiteKeyStorage(path: path, rules: StoreFixture.rules)
        let usage = KeyDatabase.usagePath(for: path)

        try FileManager.default.moveItem(atPath: path, toPath: path + ".aside")
        try FileManager.default.moveItem(atPath: usage, toPath: usage + ".aside")
        #expect(Set(running.takeFileChanges()) == [.replaced(path: path), .replaced(path: usage)])
        #expect(running.takeFileChanges() == [])

        try FileManager.default.moveItem(atPath: path + ".aside", toPath: path)
        #expect(running.takeFileChanges() == [.restored(path: path)])
        try FileManager.default.moveItem(atPath: usage + ".aside", toPath: usage)
        running.checkpoint()
        #expect(running.takeFileChanges() == [.restored(path: usage)], "a look after a flush keeps what it found for the taker")
    }

    @Test func aDatabaseInMemoryHasNoFilesToWatch() throws {
        let storage = SQLiteKeyStorage(database: try KeyDatabase.inMemory(), rules: StoreFixture.rules)
        #expect(storage.takeFileChanges() == [])
    }
}
