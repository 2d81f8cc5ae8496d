public import Foundation

/// A file system of its own to fill (a few megabytes of tmpfs): what a
/// full disk does to a process, without filling the machine's. Mounting
/// needs root, with CAP_SYS_ADMIN (root in most containers has it).
public final class FullDisk: @unchecked Sendable {
    // @unchecked: `mounted` changes only in `release()`, called by the test
    // that made the disk, on its own thread.
    /// The file system's root, a folder of ``ScratchFolder``.
    public let url: URL
    private var mounted = true

    /// Mounts a tmpfs of `megabytes` on a new scratch folder.
    public init(megabytes: Int) throws {
        url = try ScratchFolder.make("keygate-full-disk")
        guard ToolRun.succeeds("mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", url.path]) else {
            throw Unmountable()
        }
    }

    deinit { release() }

    /// Fills what is left with one file of zeros, until the file system
    /// refuses a write.
    public func fill() {
        let descriptor = open(url.appending(path: "filler").path, O_WRONLY | O_CREAT, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let block = [UInt8](repeating: 0, count: 65_536)
        while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, $0.count) }) > 0 {}
        // Then what is left of the last block.
        while block.withUnsafeBytes({ write(descriptor, $0.baseAddress, 512) }) > 0 {}
    }

    /// Unmounts it, and everything on it goes.
    public func release() {
        guard mounted else { return }
        if ToolRun.succeeds("umount", ["-l", url.path]) { mounted = false }
    }

    /// Whether a file system can be mounted here, tried once.
    public static let canMount: Bool = (try? FullDisk(megabytes: 1)).map { $0.release(); return true } ?? false

    struct Unmountable: Error {}
}
