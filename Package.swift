// swift-tools-version: 6.1
import PackageDescription

/// Strict settings shared by every target: Swift 6 language mode plus upcoming features
/// that keep the public surface honest.
let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "AgentMemory",
    platforms: [.macOS(.v14)],
    products: [
        // Everything most users want: values, stores (in-memory and SQLite), the Claude tools,
        // the executor and the `Memory` facade.
        .library(name: "AgentMemory", targets: ["AgentMemory"]),
        // The store protocol, values, the in-memory store, the Messages API model and the
        // tools, without GRDB: for hosts that bring their own `MemoryStore`.
        .library(name: "AgentMemoryCore", targets: ["AgentMemoryCore", "ClaudeMessages", "AgentMemoryTools"]),
        .library(name: "AgentMemorySQLite", targets: ["AgentMemorySQLite"]),
        .executable(name: "agent-memory", targets: ["AgentMemoryCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // values: JSONValue, Namespace, MemoryRecord, errors; store: MemoryStore, in-memory store
        .target(name: "AgentMemoryCore", swiftSettings: strictSettings),
        // the Messages API model (content blocks, messages, tool definitions)
        .target(name: "ClaudeMessages", dependencies: ["AgentMemoryCore"], swiftSettings: strictSettings),
        // tools: definitions, input validation, executor
        .target(
            name: "AgentMemoryTools",
            dependencies: ["AgentMemoryCore", "ClaudeMessages"],
            swiftSettings: strictSettings
        ),
        // the embedded default store
        .target(
            name: "AgentMemorySQLite",
            dependencies: ["AgentMemoryCore", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        // umbrella: re-exports the layers, the `Memory` facade and store locations
        .target(
            name: "AgentMemory",
            dependencies: ["AgentMemoryCore", "ClaudeMessages", "AgentMemoryTools", "AgentMemorySQLite"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "AgentMemoryCLI",
            dependencies: [
                "AgentMemory", "ClaudeClient", "AgentLoop", "AgentMemoryTesting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                // bench: GRDB's own read path measured beside the store's (BENCHMARKS.md)
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // Examples/QuickStart: `swift run quick-start`
        .executableTarget(name: "quick-start", dependencies: ["AgentMemory"], path: "Examples/QuickStart", swiftSettings: strictSettings),
        // a helper program the tests run as several processes at once against one store
        .executableTarget(name: "MemoryStress", dependencies: ["AgentMemory"], swiftSettings: strictSettings),
        .testTarget(name: "AgentMemoryCoreTests", dependencies: ["AgentMemoryCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "StoreConformanceTests",
            dependencies: ["AgentMemoryCore", "AgentMemorySQLite"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AgentMemoryToolsTests",
            dependencies: ["AgentMemory"],
            resources: [],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "AgentMemoryCLITests", dependencies: ["AgentMemory", "AgentMemoryTesting"], swiftSettings: strictSettings),
        .testTarget(name: "BuiltinMemoryToolTests", dependencies: ["AgentMemoryTools"], swiftSettings: strictSettings),
    ],
    swiftLanguageModes: [.v6]
)

// The Messages API client (retries, streaming), the agent loop with sessions, and testing
// support. Appended here rather than in the lists above to keep merges with them trivial.
package.products += [
    .library(name: "ClaudeClient", targets: ["ClaudeClient"]),
    .library(name: "AgentLoop", targets: ["AgentLoop"]),
    // A scripted Messages API server on 127.0.0.1 for testing agents without an API key.
    .library(name: "AgentMemoryTesting", targets: ["AgentMemoryTesting"]),
]
package.targets += [
    // the Messages API client over URLSession: transport, retries, typed errors, streaming
    .target(name: "ClaudeClient", dependencies: ["ClaudeMessages"], swiftSettings: strictSettings),
    // the agent loop and session transcripts kept in a MemoryStore
    .target(name: "AgentLoop", dependencies: ["ClaudeClient", "ClaudeMessages", "AgentMemoryCore"], swiftSettings: strictSettings),
    // test doubles users can use too: a scripted Messages API server on POSIX sockets, a tool-call recorder
    .target(name: "AgentMemoryTesting", dependencies: ["ClaudeMessages"], swiftSettings: strictSettings),
    .testTarget(name: "ClaudeClientTests", dependencies: ["ClaudeClient", "AgentMemoryTesting"], swiftSettings: strictSettings),
    .testTarget(name: "AgentLoopTests", dependencies: ["AgentLoop", "AgentMemoryTesting"], swiftSettings: strictSettings),
]

// Examples/AgentQuickStart: the README's agent quick start, compiled by every build
// (`swift run agent-quick-start "Remember that I like tea."` with ANTHROPIC_API_KEY set).
package.targets += [
    .executableTarget(
        name: "agent-quick-start", dependencies: ["AgentMemory", "AgentLoop"], path: "Examples/AgentQuickStart",
        swiftSettings: strictSettings),
]
