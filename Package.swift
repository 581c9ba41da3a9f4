// swift-tools-version:6.0
import PackageDescription

// The engine's kernels are optimised even in debug builds (tests run real models) and use
// AVX2 on x86_64; every machine of this project's kind has it.
#if arch(x86_64)
let engineSettings: [SwiftSetting] = [.define("AIRLOCK_X86_AVX2"), .unsafeFlags(["-O", "-target-cpu", "haswell"])]
#else
let engineSettings: [SwiftSetting] = [.unsafeFlags(["-O"])]
#endif

let package = Package(
    name: "Airlock",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "airlock", targets: ["airlock"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        // Already built for AsyncHTTPClient; named here for the TLS listener.
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Already built for everything above; named for the event-loop timers (`LoopTimer`).
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        // Already built for Hummingbird; named for the header names the gateway sets.
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
    ],
    targets: [
        // Shared value types: wire JSON, entity types, findings, errors. No dependencies.
        .target(name: "AirlockCore"),
        // Scanner, validators, operators, vault, stream restorer. Never knows HTTP.
        .target(name: "AirlockDetect", dependencies: [
            "AirlockCore", "CAirlockSHA256",
            .product(name: "Crypto", package: "swift-crypto"),
        ]),
        // SHA-256 on a stack state (with the CPU's SHA instructions when present) for the
        // findings' HMAC fingerprints; optimised in debug builds too.
        .target(name: "CAirlockSHA256", cSettings: [.unsafeFlags(["-O2"])]),
        // Policy model, validation and pure evaluation.
        .target(name: "AirlockPolicy", dependencies: [
            "AirlockCore",
            .product(name: "Yams", package: "Yams"),
        ]),
        // PostgreSQL: managed server, migrations, repositories.
        .target(name: "AirlockStore", dependencies: [
            "AirlockCore", "AirlockPolicy",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        ]),
        // Tamper-evident audit writer, spool, retention.
        .target(name: "AirlockAudit", dependencies: [
            "AirlockCore", "AirlockStore",
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Remote provider clients and the SSE codec.
        .target(name: "AirlockUpstream", dependencies: [
            "AirlockCore",
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ]),
        // In-process inference engine. No server or database dependencies.
        // A prefetch instruction for the engine's kernels (Swift cannot import clang's macro).
        .target(name: "CAirlockPrefetch"),
        // AVX-512 VNNI decode kernels, picked at run time when the CPU has them (optimised in
        // debug builds too, like the engine: tests run real models through them).
        .target(name: "CAirlockKernels", cSettings: [.unsafeFlags(["-O2"])]),
        .target(name: "AirlockEngine", dependencies: ["AirlockCore", "CAirlockPrefetch", "CAirlockKernels"],
                swiftSettings: engineSettings),
        // The HTTP application: pipeline, routes, admin API.
        .target(name: "AirlockGateway", dependencies: [
            "AirlockCore", "AirlockDetect", "AirlockPolicy", "AirlockStore",
            "AirlockAudit", "AirlockUpstream", "AirlockEngine",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "AsyncHTTPClient", package: "async-http-client"),
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "HTTPTypes", package: "swift-http-types"),
        ]),
        .executableTarget(name: "airlock", dependencies: [
            "AirlockGateway", "AirlockPolicy", "AirlockDetect", "AirlockEngine", "AirlockStore", "AirlockAudit",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "AirlockCoreTests", dependencies: ["AirlockCore"]),
        .testTarget(name: "AirlockDetectTests", dependencies: ["AirlockDetect", "CAirlockSHA256"]),
        .testTarget(name: "AirlockPolicyTests", dependencies: ["AirlockPolicy"]),
        .testTarget(name: "AirlockEngineTests", dependencies: ["AirlockEngine"], resources: [.copy("Fixtures")]),
        .testTarget(name: "AirlockUpstreamTests", dependencies: [
            "AirlockUpstream",
            .product(name: "NIOHTTP1", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
        ]),
        .testTarget(name: "AirlockStoreTests", dependencies: ["AirlockStore"]),
        .testTarget(name: "AirlockAuditTests", dependencies: ["AirlockAudit"]),
        .testTarget(name: "AirlockGatewayTests", dependencies: [
            "AirlockGateway",
            .product(name: "HummingbirdTesting", package: "hummingbird"),
        ]),
    ],
    swiftLanguageModes: [.v6]
)
