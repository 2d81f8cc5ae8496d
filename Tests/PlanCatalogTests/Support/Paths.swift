import Foundation

/// Files of this repository, found from this source file so the tests run
/// from any working directory.
enum Paths {
    static let repository = URL(filePath: #filePath)
        .deletingLastPathComponent()  // Support
        .deletingLastPathComponent()  // PlanCatalogTests
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    static func plans(_ name: String) -> URL {
        repository.appending(path: "Plans").appending(path: name)
    }

    static func fixture(_ name: String) -> URL {
        repository.appending(path: "Tests/PlanCatalogTests/Fixtures").appending(path: name)
    }
}
