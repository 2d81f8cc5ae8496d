// swift-tools-version: 6.0
import PackageDescription

/// Every target builds in the Swift 6 language mode with complete strict
/// concurrency; upcoming features that tighten it further are opted in here
/// once, not per target.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

let package = Package(
    name: "Keygate",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "PlanCatalog", targets: ["PlanCatalog"]),
        .library(name: "KeygateJSON", targets: ["KeygateJSON"]),
        .library(name: "KeyStore", targets: ["KeyStore"]),
        .library(name: "KeyStorePostgres", targets: ["KeyStorePostgres"]),
        .library(name: "KeygateService", targets: ["KeygateService"]),
        .library(name: "KeygateLocalization", targets: ["KeygateLocalization"]),
        .library(name: "KeygateRPC", targets: ["KeygateRPC"]),
        .executable(name: "keygate", targets: ["KeygateCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "4.5.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // libxml2 straight from the system: the catalog needs its parser and
        // XSD validator, nothing a Swift XML package adds on top.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"]), .brew(["libxml2"])]
        ),
        // libpq, PostgreSQL's own C client, straight from the system: the
        // protocol with prepared statements and LISTEN/NOTIFY, in one small
        // library (postgres-nio would add swift-nio and 30 modules; see
        // docs/STORAGE.md for the measurements behind the choice).
        .systemLibrary(
            name: "CLibPQ",
            pkgConfig: "libpq",
            providers: [.apt(["libpq-dev"]), .brew(["libpq"])]
        ),
        // The one SQLite setting that must be made through the variadic
        // `sqlite3_config`, which Swift cannot call (see SQLiteProcess.swift).
        .target(
            name: "CSQLiteTuning",
            linkerSettings: [.linkedLibrary("sqlite3")]
        ),
        // The lock every module shares state behind (a pthread mutex, which
        // ThreadSanitizer can see; see Locked.swift).
        .target(
            name: "Locking",
            swiftSettings: swiftSettings
        ),
        // One JSON value, one parser, one writer: requests, replies and the
        // audit log's details all go through them.
        .target(
            name: "KeygateJSON",
            swiftSettings: swiftSettings
        ),
        // Plans/ and Localization/ ship inside the library as resources, so
        // a product that embeds it has the default catalog and every
        // translation without a checkout. SwiftPM takes resources only from
        // inside a target (and copies links as links), so the files live
        // there and the top-level Plans and Localization link to them.
        .target(
            name: "PlanCatalog",
            // Crypto for the catalog's SHA-256 (PlanCatalog.digest);
            // KeygateJSON for the one comparison of names as bytes.
            dependencies: ["CLibXML2", "KeygateJSON", .product(name: "Crypto", package: "swift-crypto")],
            resources: [.copy("Plans")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KeyStore",
            dependencies: [
                "Locking", "KeygateJSON", "CSQLiteTuning",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        // The same storage boundary on PostgreSQL, for several hosts.
        .target(
            name: "KeyStorePostgres",
            dependencies: ["CLibPQ", "KeyStore", "KeygateJSON", "Locking"],
            swiftSettings: swiftSettings,
            // For OPENSSL_init_crypto (Sources/CLibPQ/shim.h); libpq links it anyway.
            linkerSettings: [.linkedLibrary("crypto", .when(platforms: [.linux]))]
        ),
        .target(
            name: "KeygateService",
            dependencies: ["PlanCatalog", "KeyStore", "KeygateJSON", "Locking"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KeygateLocalization",
            dependencies: ["Locking", .product(name: "Logging", package: "swift-log")],
            resources: [.copy("Localization")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "KeygateRPC",
            dependencies: [
                "KeygateJSON", "PlanCatalog", "KeyStore", "KeygateService", "KeygateLocalization", "Locking",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "KeygateCLI",
            dependencies: [
                "PlanCatalog", "KeyStore", "KeyStorePostgres", "KeygateService", "KeygateLocalization", "KeygateRPC",
                "KeygateJSON", "Locking", .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PlanCatalogTests",
            dependencies: ["PlanCatalog", "KeygateTestSupport"],
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        // Helpers shared by the test targets.
        .target(
            name: "KeygateTestSupport",
            dependencies: ["KeyStore", "KeyStorePostgres", "Locking"],
            path: "Tests/KeygateTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeyStoreTests",
            dependencies: [
                "KeyStore", "KeyStorePostgres", "KeygateJSON", "KeygateTestSupport", "Locking",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeygateServiceTests",
            dependencies: [
                "KeygateService", "KeyStore", "KeyStorePostgres", "PlanCatalog", "KeygateTestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeygateLocalizationTests",
            dependencies: [
                "KeygateLocalization", "PlanCatalog", "KeyStore", "KeygateService",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "KeygateRPCTests",
            dependencies: [
                "KeygateRPC", "KeygateJSON", "KeygateService", "KeyStore", "KeyStorePostgres", "PlanCatalog",
                "KeygateLocalization", "KeygateTestSupport",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["FuzzCorpus"],
            swiftSettings: swiftSettings
        ),
        // Drives the built `keygate` executable over pipes.
        .testTarget(
            name: "KeygateCLITests",
            dependencies: [
                "KeygateCLI", "KeygateRPC", "KeygateTestSupport", "KeyStore", "KeyStorePostgres", "Locking",
                .product(name: "Crypto", package: "swift-crypto"), .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"), .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
