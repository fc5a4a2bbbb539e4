import AgentMemory
import AgentMemoryMCP
import MCP
import Testing

@Suite("MCP prompt and change notifications")
struct MCPPromptAndNotificationTests {
    @Test("prompts/list and prompts/get give the guidance for the tools served")
    func prompt() async throws {
        let harness = try await MCPHarness.start(tools: [.remember, .recall, .listMemory, .searchMemory])
        defer { Task { await harness.stop() } }
        #expect(try await harness.client.listPrompts().prompts.map(\.name) == ["use_memory"])
        let (_, messages) = try await harness.client.getPrompt(name: "use_memory")
        #expect(messages.count == 1)
        guard case .text(let text) = messages.first?.content else {
            Issue.record("not a text message")
            return
        }
        #expect(text.hasPrefix("You have persistent memory (namespace \"team\")"))
        #expect(text.contains("Tools: remember, recall, list_memory, search_memory."))
        #expect(text.contains("search_memory when you know"))
        #expect(!text.contains("forget"))
        await #expect(throws: MCPError.self) { _ = try await harness.client.getPrompt(name: "other") }
    }

    @Test("a new key announces a list change; a subscribed key announces its update")
    func notifications() async throws {
        let harness = try await MCPHarness.start()
        defer { Task { await harness.stop() } }
        let received = AsyncStream.makeStream(of: String.self)
        await harness.client.onNotification(ResourceListChangedNotification.self) { _ in
            received.continuation.yield("list_changed")
        }
        await harness.client.onNotification(ResourceUpdatedNotification.self) { message in
            received.continuation.yield("updated " + message.params.uri)
        }
        let uri = MemoryResourceURI(namespace: harness.namespace, key: "a b").description
        try await harness.client.subscribeToResource(uri: uri)
        _ = try await harness.store.put("a b", value: "1", in: harness.namespace)
        _ = try await harness.store.put("a b", value: "2", in: harness.namespace)
        _ = try await harness.store.put("_agent_memory/x", value: "hidden", in: harness.namespace)
        _ = try await harness.store.delete("a b", in: harness.namespace)
        var iterator = received.stream.makeAsyncIterator()
        var events: [String] = []
        for _ in 0..<5 { events.append(await iterator.next() ?? "end") }
        #expect(events == ["list_changed", "updated \(uri)", "updated \(uri)", "list_changed", "updated \(uri)"])
    }
}
