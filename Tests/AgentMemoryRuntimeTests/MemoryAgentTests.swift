import AgentMemoryJSON
import ClaudeMessages
import ClaudeClient
import AgentLoop
import AgentMemory
import AgentMemoryRuntime
import AgentMemoryTesting
import Foundation
import Testing

/// An agent assembled by the runtime, run against the scripted Messages API server on
/// 127.0.0.1: the tools write to the bound namespace as the bound agent, and the session is
/// saved beside the memories.
@Suite("MemoryAgent")
struct MemoryAgentTests {
    let namespace = try! Namespace("team")

    func response(_ id: String, _ content: [ContentBlock], _ stopReason: StopReason) -> ScriptedResponse {
        .message(MessageResponse(id: id, model: "scripted", content: content, stopReason: stopReason, usage: Usage(inputTokens: 10, outputTokens: 5)))
    }

    func client(_ server: ScriptedMessagesServer) -> ClaudeClient {
        ClaudeClient(configuration: ClaudeConfiguration(apiKey: "sk-test", baseURL: server.baseURL))
    }

    @Test func theToolsWriteAsTheAgentAndTheSessionIsSavedInTheNamespace() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        server.enqueue(
            response("m1", [.toolUse(id: "t1", name: "remember", input: ["key": "user.tea", "value": "jasmine"])], .toolUse),
            response("m2", [.text("Saved.")], .endTurn))
        let store = InMemoryMemoryStore()
        let agent = try await MemoryAgent.open(
            sessionID: "s1", store: store, namespace: namespace, agent: "agent-1", client: client(server),
            configuration: AgentConfiguration(model: "claude-test", system: .text(MemoryAgent.defaultSystemPrompt), streaming: false))
        let result = try await agent.run("I like jasmine tea.")
        #expect(result.stopReason == .endTurn)
        #expect(result.text == "Saved.")

        let record = try #require(try await store.get("user.tea", in: namespace))
        #expect(record.value == "jasmine")
        #expect(record.author == "agent-1")
        let first = try #require(server.requests.first?.json)
        #expect(first["model"] == "claude-test")
        #expect(first["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["remember", "recall", "list_memory"])
        let sessions = try await MemoryStoreSessionStore(store: store, namespace: namespace).list()
        #expect(sessions.map(\.id) == ["s1"])
        #expect(sessions.first?.messageCount == 4)
        #expect(try await store.get(MemoryStoreSessionStore.metaKey("s1"), in: namespace)?.author == "agent-1")
    }

    @Test func theToolSetAndAccessAreTheOnesGiven() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        server.enqueue(
            response("m1", [.toolUse(id: "t1", name: "remember", input: ["key": "k", "value": "v"])], .toolUse),
            response("m2", [.text("Could not.")], .endTurn))
        let store = InMemoryMemoryStore()
        let agent = try await MemoryAgent.open(
            sessionID: "s2", store: store, namespace: namespace, agent: "reader", client: client(server),
            configuration: AgentConfiguration(model: "claude-test", streaming: false),
            tools: [.remember, .recall, .forget], access: .readOnly)
        _ = try await agent.run("Remember k.")
        #expect(try await store.get("k", in: namespace) == nil)
        #expect(
            server.requests.first?.json?["tools"]?.arrayValue?.compactMap { $0["name"]?.stringValue } == ["remember", "recall", "forget"])
        let results = server.requests.last?.messages.last?.blocks.compactMap(\.toolResult) ?? []
        #expect(results.map(\.text) == ["remember is not allowed: this agent has read-only access to namespace \"team\""])
        #expect(results.map(\.isError) == [true])
    }

    @Test func aBadSessionIDIsRefusedBeforeAnythingIsSent() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        await #expect(throws: SessionError.self) {
            try await MemoryAgent.open(
                sessionID: "no spaces", store: InMemoryMemoryStore(), namespace: namespace, agent: nil, client: client(server),
                configuration: AgentConfiguration(model: "claude-test"))
        }
        #expect(server.requests.isEmpty)
    }
}
