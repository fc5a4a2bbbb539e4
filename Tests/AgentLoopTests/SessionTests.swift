import AgentMemoryCore
import ClaudeClient
import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemoryTesting
import Foundation
import Testing

@Suite("Sessions")
struct SessionTests {
    /// Process 1 is stopped while its tool call runs: the transcript ends with the assistant's
    /// tool_use turn and no results.
    func interruptedFirstProcess(store: InMemoryMemoryStore) async throws -> MessageResponse {
        let server = try ScriptedMessagesServer()
        let turn = toolTurn("msg_1", [("toolu_1", "remember", ["key": "drink", "value": "tea"])])
        server.enqueue(.stream(turn))
        let executor = TestToolExecutor()
        let hooks = AgentHooks(shouldRunTool: { _ in
            try? await Task.sleep(for: .seconds(30))  // the process "dies" here
            return .run
        })
        let loop = makeLoop(server, executor: executor, hooks: hooks)
        let session = try await AgentSession.open(id: "s1", store: MemoryStoreSessionStore(store: store, namespace: agentNamespace))
        let task = Task { try await loop.run("Remember that I drink tea.", in: session) }
        while await session.messages.count < 2 { try await Task.sleep(for: .milliseconds(10)) }
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(await executor.state.batches.isEmpty)
        return turn
    }

    @Test("a restarted process resumes mid-session; interrupted tool calls become is_error results")
    func resumeInterrupted() async throws {
        let store = InMemoryMemoryStore()
        let turn = try await interruptedFirstProcess(store: store)

        // Process 2: a new server connection, loop, executor and session object over the same store.
        let server = try ScriptedMessagesServer()
        server.enqueue(.stream(endTurn("msg_2", "Let me check what I stored.")))
        let executor = TestToolExecutor()
        let session = try await AgentSession.open(id: "s1", store: MemoryStoreSessionStore(store: store, namespace: agentNamespace))
        #expect(await session.messages.count == 2)
        let result = try await makeLoop(server, executor: executor).run("Did you store it?", in: session)
        #expect(result.stopReason == .endTurn)
        #expect(await executor.state.batches.isEmpty)
        let sent = server.requests[0].messages
        #expect(sent.count == 3)
        #expect(sent[0] == .user("Remember that I drink tea."))
        #expect(sent[1].jsonValue.jsonString() == turn.message.jsonValue.jsonString())
        let answer = sent[2].blocks
        #expect(answer.count == 2)
        #expect(answer[0].toolResult?.toolUseID == "toolu_1")
        #expect(answer[0].toolResult?.isError == true)
        #expect(answer[0].toolResult?.text.hasPrefix("Interrupted:") == true)
        #expect(answer[1] == .text("Did you store it?"))
        #expect(await session.transcript.messages.count == 4)
    }

    @Test("with the execute policy, resuming runs the interrupted calls")
    func resumeExecutes() async throws {
        let store = InMemoryMemoryStore()
        _ = try await interruptedFirstProcess(store: store)
        let server = try ScriptedMessagesServer()
        server.enqueue(.stream(endTurn("msg_2", "Stored.")))
        let executor = TestToolExecutor()
        let session = try await AgentSession.open(id: "s1", store: MemoryStoreSessionStore(store: store, namespace: agentNamespace))
        let result = try await makeLoop(server, executor: executor, policy: .execute).resume(session)
        #expect(result.text == "Stored.")
        #expect(await executor.state.memory == ["drink": "tea"])
        let sent = server.requests[0].messages
        #expect(sent.count == 3)
        #expect(sent[2].blocks == [.toolResult(toolUseID: "toolu_1", content: "Remembered drink.")])
    }

    @Test("sessions are listed, kept apart, deleted, and protected from a stale writer")
    func storeOperations() async throws {
        let store = InMemoryMemoryStore()
        let sessions = MemoryStoreSessionStore(store: store, namespace: agentNamespace, author: "agent-a")
        let one = try await AgentSession.open(id: "one", store: sessions)
        try await one.append([.user("hi")])
        let two = try await AgentSession.open(id: "two", store: sessions)
        try await two.append([.user("hello")])
        try await two.append([Message(role: .assistant, content: [.text("hey")])], stopReason: .endTurn, usage: Usage(inputTokens: 3, outputTokens: 1))
        #expect(try await sessions.list().map(\.id) == ["one", "two"])
        #expect(try await sessions.list().map(\.messageCount) == [1, 2])
        let loaded = try #require(try await sessions.load("two"))
        #expect(loaded.messages == [.user("hello"), Message(role: .assistant, content: [.text("hey")])])
        #expect(loaded.lastStopReason == .endTurn)
        #expect(loaded.usage + .zero == Usage(inputTokens: 3, outputTokens: 1))
        #expect(try await store.get(MemoryStoreSessionStore.metaKey("two"), in: agentNamespace)?.author == "agent-a")

        // Another process appended since `stale` was opened: the stale save fails, nothing is lost.
        let stale = try await AgentSession.open(id: "one", store: sessions)
        try await one.append([Message(role: .assistant, content: [.text("first writer")])], stopReason: .endTurn)
        await #expect(throws: SessionError.self) { try await stale.append([Message(role: .assistant, content: [.text("second writer")])]) }
        #expect(try await sessions.load("one")?.messages.last?.text == "first writer")

        #expect(try await sessions.delete("one"))
        #expect(try await sessions.load("one") == nil)
        #expect(try await sessions.list().map(\.id) == ["two"])
        await #expect(throws: SessionError.self) { try await AgentSession.open(id: "../escape", store: sessions) }
        await #expect(throws: SessionError.self) { try await AgentSession.open(id: "", store: sessions) }
    }
}
