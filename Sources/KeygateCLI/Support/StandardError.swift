import Foundation

/// Diagnostics for people go to stderr, so stdout carries only the
/// command's output (and, for `keygate serve`, only protocol frames).
enum StandardError {
    static func write(_ line: String) {
        FileHandle.standardError.write(Data((line + "\n").utf8))
    }
}
