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
        .library(name: "AgentMemoryCore", targets: ["AgentMemoryJSON", "AgentMemoryCore", "ClaudeMessages", "AgentMemoryTools"]),
        .library(name: "AgentMemorySQLite", targets: ["AgentMemorySQLite"]),
        // The PostgreSQL store (PostgresNIO), for crews spread over several machines.
        .library(name: "AgentMemoryPostgres", targets: ["AgentMemoryPostgres"]),
        // What every front end shares: store URLs (`sqlite:PATH`, `postgres://...`, `memory:`)
        // opened into stores, flags and environment turned into a store, namespace and agent,
        // agent assembly, JSON Lines export and import.
        .library(name: "AgentMemoryRuntime", targets: ["AgentMemoryRuntime"]),
        .library(name: "ClaudeClient", targets: ["ClaudeClient"]),
        .library(name: "AgentLoop", targets: ["AgentLoop"]),
        // A scripted Messages API server on 127.0.0.1 for testing agents without an API key.
        .library(name: "AgentMemoryTesting", targets: ["AgentMemoryTesting"]),
        // The HTTP server (Hummingbird): the BotWire-compatible memory API plus compare-and-set,
        // search, the change feed, bearer tokens, limits and metrics. Its own product so that
        // `AgentMemory` stays free of NIO.
        .library(name: "AgentMemoryServer", targets: ["AgentMemoryServer"]),
        .executable(name: "agent-memory", targets: ["AgentMemoryCLI"]),
        // The memory as an MCP server (modelcontextprotocol/swift-sdk): tools, resources, a prompt.
        // Its own product so that `AgentMemory` stays free of the MCP SDK and NIO.
        .library(name: "AgentMemoryMCP", targets: ["AgentMemoryMCP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/modelcontextprotocol/swift-sdk", exact: "0.12.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // already in the graph through Hummingbird; named for the server's own imports
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    ],
    targets: [
        // values: JSONValue, Namespace, MemoryRecord, errors; store: MemoryStore, in-memory store
        .target(name: "AgentMemoryCore", dependencies: ["AgentMemoryJSON"], swiftSettings: strictSettings),
        // JSON values, parser and writer: the bottom of the stack, no dependencies
        .target(name: "AgentMemoryJSON", swiftSettings: strictSettings),
        // the Messages API model (content blocks, messages, tool definitions); knows JSON, not memory
        .target(name: "ClaudeMessages", dependencies: ["AgentMemoryJSON"], swiftSettings: strictSettings),
        // tools: definitions, input validation, executor
        .target(
            name: "AgentMemoryTools",
            dependencies: [
                "AgentMemoryJSON", "AgentMemoryCore", "ClaudeMessages", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // the embedded default store
        .target(
            name: "AgentMemorySQLite",
            dependencies: [
                "AgentMemoryCore", .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Logging", package: "swift-log"),
                "CSQLiteSettings", "CSQLiteFunctions", "CSQLiteWALWrites",
            ],
            swiftSettings: strictSettings
        ),
        // SQLite's process-wide settings (`sqlite3_config` is variadic: Swift cannot call it)
        .target(name: "CSQLiteSettings", linkerSettings: [.linkedLibrary("sqlite3")]),
        // SQL functions of the store's own that run once per row of a large statement
        .target(name: "CSQLiteFunctions", linkerSettings: [.linkedLibrary("sqlite3")]),
        // a VFS that writes a durable commit's write-ahead-log frames to the file in one write
        .target(name: "CSQLiteWALWrites", linkerSettings: [.linkedLibrary("sqlite3")]),
        // the shared store for crews on several machines
        .target(
            name: "AgentMemoryPostgres",
            dependencies: [
                "AgentMemoryCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // umbrella: re-exports the layers and the `Memory` facade (no NIO: PostgreSQL is opt-in)
        .target(
            name: "AgentMemory",
            dependencies: ["AgentMemoryCore", "ClaudeMessages", "AgentMemoryTools", "AgentMemorySQLite"],
            swiftSettings: strictSettings
        ),
        // the Messages API client over URLSession: transport, retries, typed errors, streaming
        .target(
            name: "ClaudeClient",
            dependencies: ["AgentMemoryJSON", "ClaudeMessages", .product(name: "Logging", package: "swift-log")],
            swiftSettings: strictSettings),
        // the agent loop and session transcripts kept in a MemoryStore
        .target(
            name: "AgentLoop",
            dependencies: [
                "AgentMemoryJSON", "ClaudeClient", "ClaudeMessages", "AgentMemoryCore", .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings),
        // test doubles users can use too: a scripted Messages API server on POSIX sockets, a tool-call
        // recorder, and the store conformance checks for anyone writing a MemoryStore backend
        .target(
            name: "AgentMemoryTesting", dependencies: ["AgentMemoryJSON", "AgentMemoryCore", "ClaudeMessages"],
            swiftSettings: strictSettings),
        // runtime, between the libraries and the front ends: store URLs for every backend, flags and
        // environment -> store, namespace, agent; agent assembly; JSON Lines export and import
        .target(
            name: "AgentMemoryRuntime",
            dependencies: ["AgentMemory", "AgentMemoryPostgres", "AgentLoop", "ClaudeClient"],
            swiftSettings: strictSettings
        ),
        // the benchmark suite behind `agent-memory bench`
        .target(
            name: "AgentMemoryBench",
            dependencies: [
                "AgentMemory", "AgentMemoryRuntime", "AgentLoop", "ClaudeClient", "AgentMemoryTesting",
                // GRDB's own read path measured beside the store's (BENCHMARKS.md)
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        // the MCP adapter: an MCP `Server` over a store, namespace, agent and tool list (no store logic)
        .target(
            name: "AgentMemoryMCP",
            dependencies: [
                "AgentMemory", "AgentMemoryRuntime", .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // the HTTP front end: a thin adapter from routes to the store, with auth, limits and metrics,
        // and the MCP server over Streamable HTTP at /mcp
        .target(
            name: "AgentMemoryServer",
            dependencies: [
                "AgentMemory", "AgentMemoryRuntime", "AgentMemoryMCP", .product(name: "MCP", package: "swift-sdk"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // argument parsing and printing over the runtime
        .executableTarget(
            name: "AgentMemoryCLI",
            dependencies: [
                "AgentMemory", "AgentMemoryRuntime", "AgentMemoryBench", "ClaudeClient", "AgentLoop", "AgentMemoryTesting",
                "AgentMemoryMCP", .product(name: "MCP", package: "swift-sdk"), .product(name: "Logging", package: "swift-log"),
                "AgentMemoryServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                "CCurlLoader", "CProcessMemory",
            ],
            swiftSettings: strictSettings
        ),
        // libcurl's functions as FoundationNetworking calls them, loading libcurl at the first call:
        // with `--as-needed` the CLI starts without mapping libcurl and its thirty libraries
        .target(name: "CCurlLoader"),
        // the C allocator's settings for the CLI's short-lived processes (glibc's mallopt)
        .target(name: "CProcessMemory"),
        // Examples/QuickStart: `swift run quick-start`; Examples/AgentQuickStart: the README's agent
        // quick start (`swift run agent-quick-start "Remember that I like tea."` with ANTHROPIC_API_KEY)
        .executableTarget(name: "quick-start", dependencies: ["AgentMemory"], path: "Examples/QuickStart", swiftSettings: strictSettings),
        .executableTarget(
            name: "agent-quick-start", dependencies: ["AgentMemory", "AgentLoop", "ClaudeClient"], path: "Examples/AgentQuickStart",
            swiftSettings: strictSettings),
        // Examples/Crew: `swift run crew-example`, three agents sharing a namespace
        .executableTarget(name: "crew-example", dependencies: ["AgentMemory"], path: "Examples/Crew", swiftSettings: strictSettings),
        // a helper program the tests run as several processes at once against one store
        .executableTarget(name: "MemoryStress", dependencies: ["AgentMemoryRuntime"], swiftSettings: strictSettings),
        .testTarget(name: "AgentMemoryJSONTests", dependencies: ["AgentMemoryJSON", "TestScratch"], swiftSettings: strictSettings),
        // the tests' scratch folders, removed when the test process exits (not a product)
        .target(name: "TestScratch", dependencies: ["AgentMemoryCore"], path: "Tests/TestScratch", swiftSettings: strictSettings),
        // the writer the reliability tests kill at random moments (RELIABILITY.md)
        .executableTarget(
            name: "ReliabilityChild",
            dependencies: [
                "AgentMemory", "AgentMemoryRuntime", "AgentLoop", "ClaudeClient", "AgentMemoryTesting",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "AgentMemoryCoreTests", dependencies: ["AgentMemoryCore"], swiftSettings: strictSettings),
        .testTarget(
            name: "StoreConformanceTests",
            dependencies: [
                "AgentMemoryCore", "AgentMemorySQLite", "AgentMemoryPostgres", "AgentMemoryTesting", "TestScratch",
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: strictSettings
        ),
        // what only the PostgreSQL store promises (URLs, errors, several "machines" at once)
        .testTarget(
            name: "PostgresStoreTests",
            dependencies: [
                "AgentMemoryPostgres", "AgentMemoryRuntime", "AgentMemoryTesting", "TestScratch",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "InMemoryLogging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "AgentMemoryToolsTests", dependencies: ["AgentMemory", "TestScratch"], swiftSettings: strictSettings),
        // the runtime on its own: settings precedence and errors, import/export, agent assembly
        .testTarget(
            name: "AgentMemoryRuntimeTests",
            dependencies: ["AgentMemoryRuntime", "AgentMemory", "AgentLoop", "AgentMemoryTesting"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "AgentMemorySQLiteTests",
            dependencies: ["AgentMemorySQLite", "TestScratch", "CSQLiteWALWrites", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        // the quick path of `agent-memory exec` and `recall` against ArgumentParser (imports the executable's module)
        .testTarget(
            name: "AgentMemoryCLIParsingTests",
            dependencies: ["AgentMemoryCLI", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: strictSettings
        ),
        // libcurl resolved at its first call, as the install build links it
        .testTarget(name: "CCurlLoaderTests", dependencies: ["CCurlLoader"], swiftSettings: strictSettings),
        .testTarget(name: "CProcessMemoryTests", dependencies: ["CProcessMemory"], swiftSettings: strictSettings),
        .testTarget(name: "AgentMemoryCLITests", dependencies: ["AgentMemory", "AgentMemoryTesting", "AgentLoop", "TestScratch"], swiftSettings: strictSettings),
        .testTarget(name: "BuiltinMemoryToolTests", dependencies: ["AgentMemoryTools"], swiftSettings: strictSettings),
        .testTarget(name: "ClaudeMessagesTests", dependencies: ["AgentMemoryJSON", "ClaudeMessages"], swiftSettings: strictSettings),
        .testTarget(
            name: "ClaudeClientTests",
            dependencies: ["ClaudeClient", "AgentMemoryTesting", .product(name: "InMemoryLogging", package: "swift-log")],
            swiftSettings: strictSettings),
        // the MCP server through the SDK's client: in memory, over stdio with the binary, the Python client
        .testTarget(
            name: "AgentMemoryMCPTests",
            dependencies: ["AgentMemoryMCP", "AgentMemory", "TestScratch", .product(name: "MCP", package: "swift-sdk")],
            swiftSettings: strictSettings
        ),
        // the HTTP server, live on 127.0.0.1 (and as `agent-memory serve` processes)
        .testTarget(
            name: "AgentMemoryServerTests",
            dependencies: [
                "AgentMemoryServer", "AgentMemory", "AgentMemoryRuntime", "TestScratch", .product(name: "Logging", package: "swift-log"),
                .product(name: "MCP", package: "swift-sdk"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "AgentLoopTests", dependencies: ["AgentLoop", "AgentMemoryTesting"], swiftSettings: strictSettings),
        // crash safety, I/O faults, contention, API faults, security, bounds (RELIABILITY.md)
        .testTarget(
            name: "ReliabilityTests",
            dependencies: [
                "AgentMemory", "AgentMemoryRuntime", "AgentLoop", "ClaudeClient", "AgentMemoryTesting", "TestScratch",
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
