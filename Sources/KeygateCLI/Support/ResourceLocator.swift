import Foundation

/// Finds the files Keygate ships (Plans/, Localization/) when a path is not
/// given: relative to the working directory first, then beside the
/// executable and in its parent directories, so `keygate` runs from anywhere
/// in a checkout or an installation that keeps them together.
enum ResourceLocator {
    static func locate(_ relativePath: String) -> URL {
        let fileManager = FileManager.default
        let inWorkingDirectory = URL(filePath: relativePath)
        if fileManager.fileExists(atPath: inWorkingDirectory.path) { return inWorkingDirectory }
        var directory = Bundle.main.executableURL?.resolvingSymlinksInPath().deletingLastPathComponent()
        while let current = directory, current.path != "/" {
            let candidate = current.appending(path: relativePath)
            if fileManager.fileExists(atPath: candidate.path) { return candidate }
            directory = current.deletingLastPathComponent()
        }
        return inWorkingDirectory
    }
}
