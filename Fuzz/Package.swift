// swift-tools-version:6.0
import PackageDescription

// libFuzzer harnesses for Airlock's parsers of untrusted input. A package of its own so the
// instrumentation flags (unsafeFlags, allowed only in a root package) never touch the main
// build. The library targets are symlinks to the main package's sources, compiled here with
// coverage instrumentation (-sanitize=fuzzer) and AddressSanitizer. Run with `Fuzz/run.sh`.

let instrumented: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-O"])]
let harness: [SwiftSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-O"])]
let link: [LinkerSetting] = [.unsafeFlags(["-sanitize=fuzzer,address", "-use-ld=lld"])]

let package = Package(
    name: "AirlockFuzz",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
    ],
    targets: [
        // Symlinks into ../Sources (the code under test, unmodified).
        .target(name: "AirlockCore", swiftSettings: instrumented),
        .target(name: "AirlockDetect", dependencies: ["AirlockCore", .product(name: "Crypto", package: "swift-crypto")],
                swiftSettings: instrumented),
        .target(name: "AirlockPolicy", dependencies: ["AirlockCore", .product(name: "Yams", package: "Yams")],
                swiftSettings: instrumented),
        // Single files of bigger modules: the SSE parser (AirlockUpstream) and the GGUF reader
        // (AirlockEngine), without their modules' heavy dependencies.
        .target(name: "AirlockSSE", swiftSettings: instrumented),
        .target(name: "AirlockGGUF", dependencies: ["AirlockCore"], swiftSettings: instrumented),

        // Declares LLVMFuzzerRunDriver, which each harness's main calls.
        .target(name: "FuzzDriver"),

        .executableTarget(name: "fuzz-json", dependencies: ["FuzzDriver", "AirlockCore"], swiftSettings: harness, linkerSettings: link),
        .executableTarget(name: "fuzz-scanner", dependencies: ["FuzzDriver", "AirlockDetect"], swiftSettings: harness, linkerSettings: link),
        .executableTarget(name: "fuzz-sse", dependencies: ["FuzzDriver", "AirlockSSE"], swiftSettings: harness, linkerSettings: link),
        .executableTarget(name: "fuzz-policy", dependencies: ["FuzzDriver", "AirlockPolicy"], swiftSettings: harness, linkerSettings: link),
        .executableTarget(name: "fuzz-gguf", dependencies: ["FuzzDriver", "AirlockGGUF"], swiftSettings: harness, linkerSettings: link),
    ],
    swiftLanguageModes: [.v6]
)
