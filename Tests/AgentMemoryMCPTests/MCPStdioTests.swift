import AgentMemory
import AgentMemoryJSON
import Foundation
import MCP
import Testing
import TestScratch

/// `agent-memory mcp` run as a user runs it: the built binary, the protocol on its stdin and
/// stdout, the SDK's `Client` on the other end.
@Suite("agent-memory mcp over stdio")
struct MCPStdioTests {
    @Test("a client initializes, calls the tools, reads resources; stdout holds only the protocol; the store is closed at EOF")
    func session() async throws {
        let child = try AgentMemoryProcess(["mcp", "--namespace", "team", "--agent", "claude-code", "--tools", "all", "--log-level", "info"])
        let transport = ProcessTransport(input: child.stdin.fileHandleForWriting, output: child.stdout.fileHandleForReading)
        let client = Client(name: "stdio-test", version: "1.0")
        let initialize = try await client.connect(transport: transport)
        #expect(initialize.serverInfo.name == "agent-memory")
        #expect(try await client.listTools().tools.map(\.name) == ["remember", "recall", "list_memory", "forget", "search_memory"])

        let key = "notes/2026 plan 100% café"
        let remembered = try await client.callTool(name: "remember", arguments: ["key": .string(key), "value": "ship it"])
        #expect(remembered.content == [.text(text: "Remembered \"\(key)\" (version 1).", annotations: nil, _meta: nil)])
        #expect(remembered.isError != true)
        let bad = try await client.callTool(name: "recall", arguments: [:])
        #expect(bad.isError == true)

        let resources = try await client.listResources().resources
        #expect(resources.map(\.name) == [key])
        #expect(resources.first?.uri == "memory://team/notes%2F2026%20plan%20100%25%20caf%C3%A9")
        let contents = try await client.readResource(uri: try #require(resources.first?.uri))
        #expect(contents.first?.text == "ship it")

        await client.disconnect()
        #expect(try await child.waitForExit() == 0)
        for line in await transport.linesReceived {
            let message = try JSONValue(parsing: line)
            #expect(message.objectValue?["jsonrpc"] == "2.0", "not a JSON-RPC message on stdout: \(String(decoding: line, as: UTF8.self))")
        }
        #expect(child.errorOutput.contains("serving namespace team over stdio"))
        #expect(child.errorOutput.contains("client gone: closing the store"))

        // The write is in the store, by the agent named on the command line.
        let history = try await child.run(["history", key, "--namespace", "team"])
        #expect(history.status == 0)
        #expect(history.stdout.contains("claude-code"))
    }

    @Test("SIGTERM stops the server and closes the store (exit status 0)")
    func sigterm() async throws {
        let child = try AgentMemoryProcess(["mcp", "--log-level", "info"])
        let transport = ProcessTransport(input: child.stdin.fileHandleForWriting, output: child.stdout.fileHandleForReading)
        let client = Client(name: "stdio-test", version: "1.0")
        _ = try await client.connect(transport: transport)
        child.process.terminate()
        #expect(try await child.waitForExit() == 0)
        #expect(child.errorOutput.contains("signal 15: stopping"))
        #expect(child.errorOutput.contains("client gone: closing the store"))
        await client.disconnect()
    }

    @Test("--tools memory is refused with the reason, exit status 2")
    func builtinMemoryToolRefused() async throws {
        let child = try AgentMemoryProcess(["mcp", "--tools", "recall,memory"])
        try child.stdin.fileHandleForWriting.close()
        #expect(try await child.waitForExit() == 2)
        #expect(child.errorOutput.contains("The built-in memory tool (memory_20250818) is not served over MCP"))
    }
}
