// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "mailplan",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "mailplan", targets: ["mailplan"]),
        .library(name: "MailPlan", targets: ["MailPlan"]),
        .library(name: "Providers", targets: ["Providers"]),
    ],
    dependencies: [
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
    ],
    targets: [
        .systemLibrary(name: "CCurl", path: "Sources/CCurl", pkgConfig: "libcurl",
                       providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLDNS", path: "Sources/CLDNS",
                       providers: [.apt(["libldns-dev"])]),
        .systemLibrary(name: "CIDN2", path: "Sources/CIDN2", pkgConfig: "libidn2",
                       providers: [.apt(["libidn2-dev"])]),
        .target(
            name: "MailPlan",
            dependencies: [
                "CCurl", "CLDNS", "CIDN2",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        // The git commit of a `make release` build (the Makefile writes Sources/CBuildInfo/commit.h).
        .target(name: "CBuildInfo", path: "Sources/CBuildInfo"),
        .target(name: "Providers", dependencies: ["MailPlan", "CLDNS", .product(name: "Crypto", package: "swift-crypto"),
                                                 .product(name: "Logging", package: "swift-log")]),
        .executableTarget(
            name: "mailplan",
            dependencies: [
                "MailPlan", "Providers", "CBuildInfo",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // What the test targets share (Tests/TestSupport): the contract fakes of the cloud APIs,
        // the locators of the servers scripts/servers starts, and the in-memory DNSProvider.
        .target(name: "MailPlanTestSupport", dependencies: ["MailPlan", "Providers"], path: "Tests/TestSupport"),
        .testTarget(name: "MailPlanTests", dependencies: ["MailPlan", "MailPlanTestSupport"]),
        .testTarget(name: "ProvidersTests", dependencies: ["MailPlan", "Providers", "MailPlanTestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "IntegrationTests", dependencies: ["MailPlan", "Providers", "MailPlanTestSupport", "mailplan"]),
    ]
)
