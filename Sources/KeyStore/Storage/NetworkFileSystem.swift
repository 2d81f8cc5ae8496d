import Foundation

/// Whether a path is on a network file system, which gives the processes
/// of a database no memory shared through its files: SQLite's log index
/// (`-shm`) and the rate-limit table (`-limits`) need that, and SQLite's
/// log does not work there.
enum NetworkFileSystem {
    /// The type of the network file system `path` is on (`nfs4`, `cifs`,
    /// …); `nil` on a file system of the host's own, or where this cannot
    /// be told (a system without `/proc/self/mountinfo`).
    static func type(at path: String) -> String? {
        guard let file = FileIdentity.at(path),
            let mounts = try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        else { return nil }
        return type(of: file.device, in: mounts)
    }

    /// The file system types that are a network's (as `mountinfo` names
    /// them). FUSE is among them only where it is one (sshfs, GlusterFS):
    /// it is as often local (overlays).
    static let networkTypes: Set<String> = [
        "nfs", "nfs4", "cifs", "smb3", "smbfs", "9p", "ceph", "glusterfs", "fuse.glusterfs", "fuse.sshfs",
        "lustre", "gpfs", "afs", "ncpfs", "coda", "beegfs",
    ]

    /// The network file system type of the mount whose device is `device`
    /// in `mountinfo` (proc(5): the third field is `major:minor`, the type
    /// follows the ` - ` separator).
    static func type(of device: UInt64, in mountinfo: String) -> String? {
        // Linux's dev_t: the minor's low 8 bits, the major's 12, the
        // minor's next 12, then the high bits of each.
        let major = ((device >> 8) & 0xfff) | ((device >> 32) & ~0xfff)
        let minor = (device & 0xff) | ((device >> 12) & ~0xff)
        let wanted = "\(major):\(minor)"
        for line in mountinfo.split(separator: "\n") {
            let fields = line.split(separator: " ")
            guard fields.count > 2, fields[2] == wanted, let separator = fields.firstIndex(of: "-"),
                separator + 1 < fields.count
            else { continue }
            let type = String(fields[separator + 1])
            return networkTypes.contains(type) ? type : nil
        }
        return nil
    }
}
