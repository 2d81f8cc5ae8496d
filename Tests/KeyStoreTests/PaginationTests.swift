import Foundation
import GRDB
import KeygateTestSupport
import Testing
@testable import KeyStore

@Suite("Listing keys")
struct PaginationTests {
    @Test(arguments: Backend.withPooler) func pagesAreNewestFirstAndBounded(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        let ids = try (0..<5).map { index in try store.create(store.newKey(name: "key \(index)")).key.id }
        let first = try store.storage.keys(organizationId: "org_a", filter: .all, cursor: nil, limit: 2)
        #expect(first.keys.map(\.id) == [ids[4], ids[3]])
        let second = try store.storage.keys(organizationId: "org_a", filter: .all, cursor: first.nextCursor, limit: 2)
        #expect(second.keys.map(\.id) == [ids[2], ids[1]])
        let last = try store.storage.keys(organizationId: "org_a", filter: .all, cursor: second.nextCursor, limit: 2)
        #expect(last.keys.map(\.id) == [ids[0]])
        #expect(last.nextCursor == nil)
    }

    /// Thousands of keys paged through while another connection keeps adding
    /// keys: every key that existed before the first page is seen exactly
    /// once, and nothing is seen twice.
    @Test(arguments: Backend.withPooler)
    func pagingThousandsOfKeysDuringConcurrentInsertsHasNoGapsOrRepeats(_ backend: Backend) async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try backend == .sqlite
            ? StoreFixture(database: try KeyDatabase.open(path: directory.appending(path: "keys.sqlite").path))
            : StoreFixture(backend)
        let existing = try Set((0..<3_000).map { index in try store.create(store.newKey(name: "key \(index)")).key.id })

        let writer = Task.detached {
            var added: [String] = []
            for index in 0..<600 {
                added.append(try store.create(store.newKey(name: "late \(index)")).key.id)
                await Task.yield()
            }
            return added
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try store.storage.keys(organizationId: "org_a", filter: .all, cursor: cursor, limit: 37)
            seen += page.keys.map(\.id)
            cursor = page.nextCursor
            await Task.yield()
        } while cursor != nil
        let added = try await writer.value

        #expect(Set(seen).count == seen.count, "a key was listed twice")
        #expect(existing.isSubset(of: Set(seen)), "\(existing.subtracting(seen).count) keys were skipped")
        #expect(Set(seen).isSubset(of: existing.union(added)))
    }

    @Test(arguments: Backend.withPooler) func statusFilterPagesOnlyMatchingKeys(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        var revoked: [String] = []
        for index in 0..<30 {
            let key = try store.create(store.newKey(name: "key \(index)")).key
            if index % 3 == 0 {
                revoked.append(try store.storage.revoke(id: key.id, organizationId: "org_a", actor: nil).id)
            }
        }
        var seen: [String] = []
        var cursor: String?
        repeat {
            let page = try store.storage.keys(organizationId: "org_a", filter: .state(.revoked), cursor: cursor, limit: 4)
            seen += page.keys.map(\.id)
            cursor = page.nextCursor
        } while cursor != nil
        #expect(seen == revoked.reversed())
    }

    @Test func aListIsOneQueryNotOnePerKey() throws {
        let store = try StoreFixture()
        for index in 0..<20 {
            let key = try store.create(store.newKey(name: "key \(index)")).key
            try store.storage.recordUsage([UsageIncrement(keyId: key.id, day: store.clock.now(), valid: index, invalid: 1)])
        }
        let counter = StatementCounter()
        let queue = try DatabaseQueue(configuration: {
            var configuration = Configuration()
            configuration.prepareDatabase { db in db.trace { counter.record("\($0)") } }
            return configuration
        }())
        try store.database.backup(to: queue)
        let traced = SQLiteKeyStorage(database: queue, rules: StoreFixture.rules, clock: store.clock)
        counter.reset()
        let page = try traced.keys(organizationId: "org_a", filter: .all, cursor: nil, limit: 50)
        #expect(page.keys.count == 20)
        #expect(page.keys.map(\.usage.valid) == Array((0..<20).reversed()))
        let selects = counter.statements.filter { $0.hasPrefix("SELECT") }
        #expect(selects.count == 1, "\(counter.statements)")
    }
}

/// The SQL statements a connection ran.
final class StatementCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var recorded: [String] = []
    var statements: [String] { lock.withLock { recorded } }
    func record(_ statement: String) { lock.withLock { recorded.append(statement) } }
    func reset() { lock.withLock { recorded = [] } }
}
