import Foundation
import GRDB
@testable import KeyStore
import KeyStorePostgres
import KeygateTestSupport
import Testing

/// What each process records of the settings it runs with (its plan
/// catalog, its retentions), and what it learns of the others' on the same
/// database.
@Suite("Settings in use")
struct SettingsInUseTests {
    static let shipped = String(repeating: "a", count: 64)
    static let edited = String(repeating: "b", count: 64)
    static let older = String(repeating: "c", count: 64)

    func catalog(_ digest: String, host: String = "web-1", process: Int32 = 100) -> SettingInUse {
        SettingInUse(name: "catalog", value: digest, source: "/etc/keygate/plans.xml", host: host, processId: process)
    }

    func retention(_ days: String, host: String = "web-1", process: Int32 = 100) -> SettingInUse {
        SettingInUse(name: "usage-retention-days", value: days, host: host, processId: process)
    }

    @Test(arguments: Backend.withPooler) func processesWithOneValueSeeNoOther(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        #expect(try store.storage.recordSettings([catalog(Self.shipped, host: "web-1"), retention("90")], within: 180).isEmpty)
        #expect(try store.storage.recordSettings([catalog(Self.shipped, host: "web-2", process: 7),
                                                  retention("90", host: "web-2", process: 7)], within: 180).isEmpty)
        #expect(try store.rows(in: "setting_in_use") == 2, "one row a setting and value, not a process")
        #expect(try store.rows(in: "process_setting") == 4, "and beside them one row a process and setting")
        // A process that records another value replaces its own row.
        _ = try store.storage.recordSettings([catalog(Self.shipped, host: "web-2", process: 7),
                                              retention("30", host: "web-2", process: 7)], within: 180)
        #expect(try store.rows(in: "process_setting") == 4)
    }

    @Test(arguments: Backend.withPooler) func eachSeesTheOthersValueWhileItIsRecorded(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        _ = try store.storage.recordSettings([catalog(Self.shipped, host: "web-1", process: 100)], within: 180)
        store.clock.advance(by: 30)
        let seenByEdited = try store.storage.recordSettings([catalog(Self.edited, host: "web-2", process: 200)], within: 180)
        #expect(seenByEdited.map(\.value) == [Self.shipped])
        #expect(seenByEdited.first?.name == "catalog")
        #expect(seenByEdited.first?.host == "web-1")
        #expect(seenByEdited.first?.processId == 100)
        #expect(seenByEdited.first?.source == "/etc/keygate/plans.xml")
        #expect(seenByEdited.first?.seenAt == store.clock.now().addingTimeInterval(-30))
        store.clock.advance(by: 30)
        #expect(try store.storage.recordSettings([catalog(Self.shipped)], within: 180).map(\.value) == [Self.edited])

        // The edited catalog's process stops recording: three minutes on,
        // it is no longer in use, and its row goes after a day.
        store.clock.advance(by: 180)
        #expect(try store.storage.recordSettings([catalog(Self.shipped)], within: 180).isEmpty)
        #expect(try store.rows(in: "setting_in_use") == 2)
        store.clock.advance(by: SettingInUse.retention)
        _ = try store.storage.recordSettings([catalog(Self.shipped)], within: 180)
        #expect(try store.rows(in: "setting_in_use") == 1, "a value not recorded for a day is forgotten")
        #expect(try store.rows(in: "process_setting") == 1, "and so is a process")
    }

    /// A process learns of other values of the settings it records, not
    /// of settings it does not (an older keygate's, or one it lacks).
    @Test func onlyTheSettingsRecordedAreAnswered() throws {
        let store = try StoreFixture()
        _ = try store.storage.recordSettings([catalog(Self.shipped, host: "a"), retention("7", host: "a")], within: 180)
        #expect(try store.storage.recordSettings([catalog(Self.shipped, host: "b")], within: 180).isEmpty)
        let others = try store.storage.recordSettings([catalog(Self.shipped, host: "b"), retention("all", host: "b")],
                                                      within: 180)
        #expect(others.map(\.value) == ["7"])
        #expect(others.map(\.host) == ["a"])
    }

    /// Information (a cache size, a freshness) is kept beside the process
    /// that records it, for `keygate status`, and compared with nothing:
    /// another process recording another value is not told of it.
    @Test(arguments: Backend.withPooler) func informationIsKeptPerProcessAndComparedWithNothing(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        func cache(_ keys: String, host: String) -> SettingInUse {
            SettingInUse(name: "cache-keys", value: keys, host: host, processId: 100)
        }
        #expect(try store.storage.recordSettings([catalog(Self.shipped, host: "a")], information: [cache("1000", host: "a")],
                                                 within: 180).isEmpty)
        #expect(try store.storage.recordSettings([catalog(Self.shipped, host: "b")],
                                                 information: [cache("100000", host: "b")], within: 180).isEmpty,
                "another cache size is no disagreement")
        #expect(try store.rows(in: "setting_in_use") == 1, "information is no value to agree on")
        #expect(try store.rows(in: "process_setting") == 4)
        // A process that records a new size replaces its own row.
        _ = try store.storage.recordSettings([catalog(Self.shipped, host: "a")], information: [cache("5000", host: "a")],
                                             within: 180)
        let recorded = try store.processSettings()
        #expect(Set(recorded.filter { $0.name == "cache-keys" }.map { [$0.host, $0.value] }) == [["a", "5000"], ["b", "100000"]])
    }

    @Test func theMostRecentlyRecordedComesFirst() throws {
        let store = try StoreFixture()
        _ = try store.storage.recordSettings([catalog(Self.older, host: "old")], within: 180)
        store.clock.advance(by: 10)
        _ = try store.storage.recordSettings([catalog(Self.edited, host: "new")], within: 180)
        store.clock.advance(by: 10)
        let others = try store.storage.recordSettings([catalog(Self.shipped)], within: 180)
        #expect(others.map(\.host) == ["new", "old"])
    }

    /// Catalogs recorded before settings had a table of their own (SQLite's
    /// v16, PostgreSQL's 13 and 14) are still in use after the migration.
    @Test(arguments: Backend.available) func catalogsRecordedBeforeTheMigrationAreStillInUse(_ backend: Backend) throws {
        let insert = """
            INSERT INTO catalog_in_use (digest, source, host, process_id, seen_at)
            VALUES ('\(Self.edited)', '/srv/plans.xml', 'web-9', 9, \(StorageCoding.milliseconds(ManualClock().now())))
            """
        let store: StoreFixture
        switch backend {
        case .sqlite:
            let queue = try DatabaseQueue(configuration: KeyDatabase.configuration())
            try KeyDatabase.migrator.migrate(queue, upTo: "v16: catalogs in use")
            try queue.write { db in try db.execute(sql: insert) }
            try KeyDatabase.migrator.migrate(queue)
            store = try StoreFixture(database: queue)
        case .postgres, .pooled:
            let url = try #require(try backend.freshPostgresURL())
            try PostgresKeyStorage.migrate(url: url, upTo: 14)
            try PostgresKeyStorage.execute(insert, url: url)
            store = try StoreFixture(backend, postgresURL: url)
        }
        let others = try store.storage.recordSettings([catalog(Self.shipped)], within: 180)
        #expect(others == [SettingInUse(name: "catalog", value: Self.edited, source: "/srv/plans.xml", host: "web-9",
                                        processId: 9, seenAt: ManualClock().now())])
    }
}
