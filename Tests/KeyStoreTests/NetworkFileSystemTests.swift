import Foundation
import Testing
@testable import KeyStore

/// A database on a network file system is told from one on the host's
/// own by its mount in `/proc/self/mountinfo`, matched by device.
@Suite("Network file systems")
struct NetworkFileSystemTests {
    /// Lines as Linux writes them (proc(5)), with and without optional fields.
    let mountinfo = """
        22 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
        35 22 0:52 / /srv/keygate rw,relatime shared:40 - nfs4 files.internal:/export/keygate rw,vers=4.2
        36 22 0:53 / /mnt/share\\040drive rw,relatime - cifs //nas/share rw
        37 22 0:54 / /var/lib/overlay rw - fuse.fuse-overlayfs fuse-overlayfs rw
        38 22 8:300 / /data rw - xfs /dev/sdt1 rw
        """

    /// Linux's dev_t of `major:minor`, as the kernel encodes it.
    func device(_ major: UInt64, _ minor: UInt64) -> UInt64 {
        ((major & 0xfff) << 8) | ((major & ~0xfff) << 32) | (minor & 0xff) | ((minor & ~0xff) << 12)
    }

    @Test func aMountOfANetworkFileSystemIsNamedByItsType() {
        #expect(NetworkFileSystem.type(of: device(0, 52), in: mountinfo) == "nfs4")
        #expect(NetworkFileSystem.type(of: device(0, 53), in: mountinfo) == "cifs")
    }

    @Test func theHostsOwnFileSystemsAreNotNetworkOnes() {
        #expect(NetworkFileSystem.type(of: device(259, 2), in: mountinfo) == nil)
        #expect(NetworkFileSystem.type(of: device(8, 300), in: mountinfo) == nil, "a minor above 255")
        #expect(NetworkFileSystem.type(of: device(0, 54), in: mountinfo) == nil, "a local FUSE overlay")
        #expect(NetworkFileSystem.type(of: device(7, 7), in: mountinfo) == nil, "no such mount")
    }

    /// The device numbers the system gives a real file find its mount.
    @Test func aFileHereIsFoundOnItsMountAndIsLocal() throws {
        let path = FileManager.default.temporaryDirectory.path
        var status = stat()
        #expect(stat(path, &status) == 0)
        let mounts = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        let line = mounts.split(separator: "\n").first { line in
            let fields = line.split(separator: " ")
            return fields.count > 2 && device(UInt64(fields[2].split(separator: ":")[0])!, UInt64(fields[2].split(separator: ":")[1])!)
                == UInt64(status.st_dev)
        }
        #expect(line != nil, "the temporary folder's mount is in mountinfo")
        #expect(try SQLiteKeyStorage(database: KeyDatabase.inMemory(), rules: StoreFixture.rules).networkFileSystem == nil)
    }
}
