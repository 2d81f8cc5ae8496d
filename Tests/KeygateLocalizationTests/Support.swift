import Foundation
import KeygateLocalization
import Logging

enum Repository {
    static let root = URL(filePath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The shipped catalogs, loaded once for all tests.
    static let localizer: Localizer = {
        do {
            return try Localizer.load(directory: root.appending(path: "Localization"), logger: Logger(label: "test"))
        } catch {
            fatalError("\(error)")
        }
    }()

    /// Every Swift source file of the package.
    static func sources() throws -> [(path: String, text: String)] {
        let sources = root.appending(path: "Sources")
        let enumerator = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)!
        return try enumerator.compactMap { $0 as? URL }.filter { $0.pathExtension == "swift" }.map {
            ($0.path, try String(contentsOf: $0, encoding: .utf8))
        }
    }
}
