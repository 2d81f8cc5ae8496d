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
}
