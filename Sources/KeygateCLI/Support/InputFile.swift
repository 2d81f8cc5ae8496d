import Foundation
import KeygateRPC

/// A file a command reads whole (`import`'s keys, the files `scan` reads),
/// read as a stream: a pipe (`keygate import <(jq …)`, `/dev/stdin`) or a
/// device reads as a file does. Foundation's whole-file reads asked for a
/// size first and refused every pipe as "cannot be read".
enum InputFile {
    /// Why a file could not be read, in words that say what to mend.
    struct Unreadable: Error, CustomStringConvertible {
        let description: String
    }

    static func contents(of path: String) throws(Unreadable) -> Data {
        guard !path.isEmpty else { throw Unreadable(description: "the path is empty; name a file") }
        let descriptor = open(path, O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { throw failure(path, errno) }
        defer { close(descriptor) }
        var status = stat()
        if fstat(descriptor, &status) == 0, status.st_mode & S_IFMT == S_IFDIR {
            throw Unreadable(description: "\(path) is a folder; name a file")
        }
        return try contents(descriptor, name: path)
    }

    /// The process's stdin to its end (`-`). Its parent may have left it
    /// non-blocking, where Foundation's `readDataToEndOfFile` stops the
    /// process on the first read that finds it empty.
    static func standardInput() throws(Unreadable) -> Data {
        try contents(0, name: "stdin")
    }

    private static func contents(_ descriptor: Int32, name: String) throws(Unreadable) -> Data {
        var data = Data()
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let count = buffer.withUnsafeMutableBytes { DescriptorIO.read(descriptor, into: $0) }
            if count == 0 { return data }
            if count < 0 { throw failure(name, errno) }
            data.append(contentsOf: buffer[0..<count])
        }
    }

    private static func failure(_ path: String, _ code: Int32) -> Unreadable {
        switch code {
        case ENOENT: Unreadable(description: "\(path): no such file")
        case EACCES: Unreadable(description: "\(path) cannot be read: permission denied")
        default: Unreadable(description: "\(path) cannot be read: \(String(cString: strerror(code)))")
        }
    }
}
