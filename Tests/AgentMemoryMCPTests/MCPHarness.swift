import AgentMemory
import AgentMemoryMCP
import Foundation
import MCP
import Testing

/// An MCP server over an in-memory store, connected to the SDK's `Client` through the SDK's
/// `InMemoryTransport` pair.
struct MCPHarness {
    let store: InMemoryMemoryStore
    let namespace: Namespace
    let client: Client
    let session: MemoryMCPSession
    let initialize: Initialize.Result

    static let namespace = try! Namespace("team")

    /// Starts a server with `tools` and `access` and connects a client to it.
    static func start(
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet, access: MemoryAccess = .readWrite, pageSize: Int = 100,
        store: InMemoryMemoryStore = InMemoryMemoryStore()
    ) async throws -> MCPHarness {
        let server = try MemoryMCPServer(
            store: store, namespace: namespace, agent: "tester", tools: tools, access: access, resourcePageSize: pageSize)
        let (clientTransport, serverTransport) = await InMemoryTransport.createConnectedPair()
        let session = try await server.start(transport: serverTransport)
        let client = Client(name: "harness", version: "1.0")
        let initialize = try await client.connect(transport: clientTransport)
        return MCPHarness(store: store, namespace: namespace, client: client, session: session, initialize: initialize)
    }

    /// Disconnects the client and stops the server.
    func stop() async {
        await client.disconnect()
        await session.stop()
    }

    /// Calls a tool; returns its text and whether it is an error.
    func call(_ name: String, _ arguments: [String: Value] = [:]) async throws -> (text: String, isError: Bool) {
        let result = try await client.callTool(name: name, arguments: arguments)
        #expect(result.content.count == 1)
        guard case .text(let text, _, _) = result.content.first else {
            Issue.record("not a text result: \(result.content)")
            return ("", true)
        }
        return (text, result.isError ?? false)
    }

    /// Every live record of the namespace, reserved keys included: what a test compares to see
    /// that nothing was written.
    func snapshot() async throws -> [MemoryRecord] {
        try await store.allRecords(in: namespace)
    }
}

/// The committed `tool-schemas/` files.
enum CommittedSchemas {
    static let directory = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("tool-schemas")

    /// The committed definition of `name`, decoded as the SDK's `Value`.
    static func definition(_ name: String) throws -> [String: Value] {
        let data = try Data(contentsOf: directory.appendingPathComponent("\(name).json"))
        return try JSONDecoder().decode([String: Value].self, from: data)
    }
}
