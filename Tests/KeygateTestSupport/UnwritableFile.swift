import Foundation

/// A file made unwritable to this process: read-only permissions, and for
/// root, which ignores them, the file system's immutable flag (`chattr +i`:
/// ext4 and others, with CAP_LINUX_IMMUTABLE, which root has outside most
/// containers).
public struct UnwritableFile {
    public let path: String
    private let immutable: Bool

    public init(_ path: String) throws {
        self.path = path
        try FileManager.default.setAttributes([.posixPermissions: 0o444], ofItemAtPath: path)
        immutable = getuid() == 0 && ToolRun.succeeds("chattr", ["+i", path])
    }

    /// Makes the file writable again, so that its folder can be removed.
    public func release() {
        if immutable { _ = ToolRun.succeeds("chattr", ["-i", path]) }
        try? FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
    }

    /// Whether a file can be made unwritable here, tried once on a scratch file.
    public static let canMake: Bool = {
        let path = FileManager.default.temporaryDirectory.appending(path: "keygate-unwritable-\(getpid())").path
        guard FileManager.default.createFile(atPath: path, contents: Data()) else { return false }
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let file = try? UnwritableFile(path) else { return false }
        defer { file.release() }
        let descriptor = open(path, O_RDWR)
        if descriptor >= 0 { close(descriptor) }
        return descriptor == -1
    }()
}
