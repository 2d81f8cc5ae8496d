// swift-tools-version: 6.0
import PackageDescription

// The benchmark suite, a package of its own so that `swift build` and
// `swift test` in the repository never build it. Run it with:
//
//     swift build -c release --product keygate
//     swift run -c release --package-path Benchmarks keygate-bench
let package = Package(
    name: "KeygateBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Keygate", path: ".."),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "keygate-bench",
            dependencies: [
                .product(name: "KeyStore", package: "Keygate"),
                .product(name: "KeyStorePostgres", package: "Keygate"),
                .product(name: "KeygateJSON", package: "Keygate"),
                .product(name: "KeygateRPC", package: "Keygate"),
                .product(name: "KeygateLocalization", package: "Keygate"),
                .product(name: "KeygateService", package: "Keygate"),
                .product(name: "PlanCatalog", package: "Keygate"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/KeygateBench",
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ],
    swiftLanguageModes: [.v6]
)
