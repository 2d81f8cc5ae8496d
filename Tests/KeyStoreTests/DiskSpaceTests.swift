import Foundation
import GRDB
import KeygateTestSupport
import Testing
@testable import KeyStore

/// A SQLite store warns before its disk is full: when less is free than
/// 100 MiB, or than its files take (what an upgrade's migration or a
/// backup beside it writes).
@Suite("Disk space")
struct DiskSpaceTests {
    @Test func theRoomNeededIsAFloorOrTheDatabasesOwnSize() {
        #expect(DiskSpace.needed(databaseBytes: 0) == 100 * 1_048_576)
        #expect(DiskSpace.needed(databaseBytes: 99 * 1_048_576) == 100 * 1_048_576)
        #expect(DiskSpace.needed(databaseBytes: 7 * 1_073_741_824) == 7 * 1_073_741_824)
    }

    /// The free space is the file system's, and what the files take is
    /// theirs: the database, its log and its usage file.
    @Test func aFileStoreMeasuresItsDiskAndItsFiles() throws {
        let path = try ScratchFolder.make("keygate-disk").appending(path: "k.sqlite").path
        let storage = SQLiteKeyStorage(database: try KeyDatabase.open(path: path), rules: StoreFixture.rules)
        let disk = try #require(storage.diskSpace)
        var system = statvfs()
        #expect(statvfs((path as NSString).deletingLastPathComponent, &system) == 0)
        let free = Int64(system.f_bavail) * Int64(system.f_frsize)
        #expect(abs(disk.free - free) < 64 * 1_048_576, "\(disk.free) against \(free)")
        let files = [path, path + "-wal", KeyDatabase.usagePath(for: path)]
        let sizes = files.compactMap { try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int64 }
        #expect(disk.used >= sizes.reduce(0, +) - 1_048_576 && disk.used > 0, "\(disk.used) against \(sizes)")
        #expect(storage.shortcomings.contains { $0.kind == .lowDiskSpace } == (disk.free < DiskSpace.needed(databaseBytes: disk.used)))
        #expect(try SQLiteKeyStorage(database: KeyDatabase.inMemory(), rules: StoreFixture.rules).diskSpace == nil)
    }

    @Test func everyShortcomingHasItsKind() {
        let all: [StoreShortcoming] = [.rateLimitsOwn(reason: "r"), .readOnly, .networkFileSystem(type: "nfs"), .slowerReads([]),
                                       .changesPolled(every: 1), .lowDiskSpace(free: 1, needed: 2)]
        #expect(all.map(\.kind) == StoreShortcoming.Kind.allCases)
        #expect(StoreShortcoming.lowDiskSpace(free: 1, needed: 2).kind == StoreShortcoming.lowDiskSpace(free: 9, needed: 2).kind)
    }
}
