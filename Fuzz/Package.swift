// swift-tools-version: 6.0
import PackageDescription

// libFuzzer targets, a package of their own so that `swift build` and
// `swift test` in the repository never build them (they only link with
// -sanitize=fuzzer). Build and run (docs/TESTING.md, "Fuzzing", has both targets):
//
//     swift build --package-path Fuzz -Xswiftc -sanitize=fuzzer,address -Xswiftc -use-ld=lld
//     Fuzz/.build/debug/fuzz-frames -max_total_time=600 Fuzz/.corpus/frames Tests/KeygateRPCTests/FuzzCorpus
let package = Package(
    name: "KeygateFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(name: "Keygate", path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .executableTarget(
            name: "fuzz-frames",
            dependencies: [
                "CLibFuzzer",
                .product(name: "KeyStore", package: "Keygate"),
                .product(name: "KeygateService", package: "Keygate"),
                .product(name: "KeygateRPC", package: "Keygate"),
                .product(name: "KeygateLocalization", package: "Keygate"),
                .product(name: "PlanCatalog", package: "Keygate"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/FuzzFrames"
        ),
        .executableTarget(
            name: "fuzz-catalog",
            dependencies: ["CLibFuzzer", .product(name: "PlanCatalog", package: "Keygate")],
            path: "Sources/FuzzCatalog"
        ),
        .target(name: "CLibFuzzer", path: "Sources/CLibFuzzer"),
    ],
    swiftLanguageModes: [.v6]
)
