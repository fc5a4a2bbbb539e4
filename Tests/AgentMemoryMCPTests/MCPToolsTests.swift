import AgentMemory
import AgentMemoryMCP
import MCP
import Testing

@Suite("MCP tools through the SDK client")
struct MCPToolsTests {
    @Test("initialize names the server and its capabilities, at the client's protocol version")
    func initialize() async throws {
        let harness = try await MCPHarness.start()
        defer { Task { await harness.stop() } }
        #expect(harness.initialize.serverInfo.name == "agent-memory")
        // The release `agent-memory --version` prints too (CLITests).
        #expect(harness.initialize.serverInfo.version == "0.1.0")
        #expect(harness.initialize.protocolVersion == Version.latest)
        #expect(harness.initialize.capabilities == MemoryMCPServer.capabilities)
        #expect(harness.initialize.instructions?.contains("namespace \"team\"") == true)
    }

    @Test("tools/list gives the names, descriptions and input schemas of tool-schemas/, with annotations")
    func listTools() async throws {
        let harness = try await MCPHarness.start(tools: [.remember, .recall, .listMemory, .forget, .searchMemory])
        defer { Task { await harness.stop() } }
        let (tools, next) = try await harness.client.listTools()
        #expect(next == nil)
        #expect(tools.map(\.name) == ["remember", "recall", "list_memory", "forget", "search_memory"])
        for tool in tools {
            let committed = try CommittedSchemas.definition(tool.name)
            #expect(tool.description == committed["description"]?.stringValue, "\(tool.name)")
            #expect(tool.inputSchema == committed["input_schema"], "\(tool.name)")
        }
        let hints = Dictionary(uniqueKeysWithValues: tools.map { ($0.name, $0.annotations) })
        #expect(hints["recall"]?.readOnlyHint == true)
        #expect(hints["list_memory"]?.readOnlyHint == true)
        #expect(hints["search_memory"]?.readOnlyHint == true)
        #expect(hints["remember"]?.readOnlyHint == false)
        #expect(hints["forget"]?.readOnlyHint == false)
        #expect(hints["forget"]?.destructiveHint == true)
        #expect(hints["remember"]?.destructiveHint == false)
        #expect(hints["forget"]?.idempotentHint == true)
        #expect(hints["recall"]?.idempotentHint == true)
        #expect(hints["remember"]?.idempotentHint == false)
        #expect(tools.allSatisfy { $0.annotations.openWorldHint == false })
    }

    @Test("each tool runs through the executor and answers as the executor does")
    func callEachTool() async throws {
        let harness = try await MCPHarness.start(tools: [.remember, .recall, .listMemory, .forget, .searchMemory])
        defer { Task { await harness.stop() } }
        #expect(try await harness.call("remember", ["key": "user.name", "value": "Ada"]) == ("Remembered \"user.name\" (version 1).", false))
        #expect(try await harness.call("recall", ["key": "user.name"]) == ("Ada", false))
        #expect(try await harness.call("list_memory") == ("user.name: Ada", false))
        #expect(try await harness.call("search_memory", ["query": "Ada"]).text.hasPrefix("user.name: "))
        #expect(try await harness.call("forget", ["key": "user.name"]) == ("Forgot \"user.name\".", false))
        #expect(try await harness.call("list_memory") == ("No memories are stored yet.", false))
        let record = try await harness.store.history(of: "user.name", in: harness.namespace, limit: 10).first
        #expect(record?.author == "tester")
    }

    @Test("a model mistake is an isError result (its text starts as given) and writes nothing", arguments: [
        ("remember", ["key": .string("k")], "Invalid input for remember: missing required field \"value\" (a string)"),
        ("remember", ["key": .int(3), "value": .string("v")], "Invalid input for remember: field \"key\" must be a string, got integer"),
        ("remember", ["key": .string("_agent_memory/x"), "value": .string("v")],
         "Invalid input for remember: keys starting with \"_agent_memory/\" are reserved for the library"),
        ("forget", ["key": .string("k"), "extra": .bool(true)], "Invalid input for forget: unknown field \"extra\""),
        ("teleport", [:], "Unknown tool \"teleport\". The tools available are: remember, recall, list_memory, forget"),
        ("memory", ["command": .string("view"), "path": .string("/memories")],
         "Unknown tool \"memory\". The tools available are: remember, recall, list_memory, forget"),
    ] as [(String, [String: Value], String)])
    func modelMistakes(name: String, arguments: [String: Value], expected: String) async throws {
        let harness = try await MCPHarness.start(tools: [.remember, .recall, .listMemory, .forget])
        defer { Task { await harness.stop() } }
        _ = try await harness.call("remember", ["key": "k", "value": "kept"])
        let before = try await harness.snapshot()
        let (text, isError) = try await harness.call(name, arguments)
        #expect(isError)
        #expect(text.hasPrefix(expected), "\(text)")
        #expect(try await harness.snapshot() == before)
    }

    @Test("read-only: only reading tools are listed, and a write call is refused without writing")
    func readOnly() async throws {
        let store = InMemoryMemoryStore()
        _ = try await store.put("k", value: "v", in: MCPHarness.namespace)
        let harness = try await MCPHarness.start(tools: [.remember, .recall, .forget], access: .readOnly, store: store)
        defer { Task { await harness.stop() } }
        #expect(try await harness.client.listTools().tools.map(\.name) == ["recall"])
        let before = try await harness.snapshot()
        let result = try await harness.call("forget", ["key": "k"])
        #expect(result == ("forget is not allowed: this agent has read-only access to namespace \"team\"", true))
        #expect(try await harness.snapshot() == before)
        #expect(try await harness.call("recall", ["key": "k"]) == ("v", false))
    }

    @Test("the built-in memory tool, an empty tool list and a page size of 0 are refused with a reason")
    func refusedConfigurations() throws {
        let store = InMemoryMemoryStore()
        #expect(throws: MemoryMCPError.builtinMemoryTool) {
            try MemoryMCPServer(store: store, namespace: MCPHarness.namespace, tools: [.recall, .memory])
        }
        #expect(throws: MemoryMCPError.self) { try MemoryMCPServer(store: store, namespace: MCPHarness.namespace, tools: []) }
        #expect(throws: MemoryMCPError.self) {
            try MemoryMCPServer(store: store, namespace: MCPHarness.namespace, resourcePageSize: 0)
        }
    }
}
