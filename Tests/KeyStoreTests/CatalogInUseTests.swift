import Foundation
import KeyStore
import KeygateTestSupport
import Testing

/// What each process records of the plan catalog it serves with, and what
/// it learns of the others' on the same database.
@Suite("Catalogs in use")
struct CatalogInUseTests {
    static let shipped = String(repeating: "a", count: 64)
    static let edited = String(repeating: "b", count: 64)
    static let older = String(repeating: "c", count: 64)

    func catalog(_ digest: String, host: String = "web-1", process: Int32 = 100) -> CatalogInUse {
        CatalogInUse(digest: digest, source: "/etc/keygate/plans.xml", host: host, processId: process)
    }

    @Test(arguments: Backend.withPooler) func processesWithOneCatalogSeeNoOther(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        #expect(try store.storage.recordCatalog(catalog(Self.shipped, host: "web-1"), within: 180).isEmpty)
        #expect(try store.storage.recordCatalog(catalog(Self.shipped, host: "web-2", process: 7), within: 180).isEmpty)
        #expect(try store.rows(in: "catalog_in_use") == 1, "one row a catalog, not a process")
    }

    @Test(arguments: Backend.withPooler) func eachSeesTheOthersCatalogWhileItIsRecorded(_ backend: Backend) throws {
        let store = try StoreFixture(backend)
        _ = try store.storage.recordCatalog(catalog(Self.shipped, host: "web-1", process: 100), within: 180)
        store.clock.advance(by: 30)
        let seenByEdited = try store.storage.recordCatalog(catalog(Self.edited, host: "web-2", process: 200), within: 180)
        #expect(seenByEdited.map(\.digest) == [Self.shipped])
        #expect(seenByEdited.first?.host == "web-1")
        #expect(seenByEdited.first?.processId == 100)
        #expect(seenByEdited.first?.source == "/etc/keygate/plans.xml")
        #expect(seenByEdited.first?.seenAt == store.clock.now().addingTimeInterval(-30))
        store.clock.advance(by: 30)
        #expect(try store.storage.recordCatalog(catalog(Self.shipped), within: 180).map(\.digest) == [Self.edited])

        // The edited catalog's process stops recording: three minutes on,
        // it is no longer in use, and its row goes after a day.
        store.clock.advance(by: 180)
        #expect(try store.storage.recordCatalog(catalog(Self.shipped), within: 180).isEmpty)
        #expect(try store.rows(in: "catalog_in_use") == 2)
        store.clock.advance(by: CatalogInUse.retention)
        _ = try store.storage.recordCatalog(catalog(Self.shipped), within: 180)
        #expect(try store.rows(in: "catalog_in_use") == 1, "a catalog not recorded for a day is forgotten")
    }

    @Test func theMostRecentlyRecordedComesFirst() throws {
        let store = try StoreFixture()
        _ = try store.storage.recordCatalog(catalog(Self.older, host: "old"), within: 180)
        store.clock.advance(by: 10)
        _ = try store.storage.recordCatalog(catalog(Self.edited, host: "new"), within: 180)
        store.clock.advance(by: 10)
        let others = try store.storage.recordCatalog(catalog(Self.shipped), within: 180)
        #expect(others.map(\.host) == ["new", "old"])
    }
}
