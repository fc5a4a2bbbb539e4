import AgentMemoryCore
import ClaudeClient
import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemoryTesting
import Foundation
import Testing

@Suite("Agent loop")
struct AgentLoopTests {
    @Test("a two-turn tool conversation", arguments: [true, false])
    func twoTurnConversation(streaming: Bool) async throws {
        let server = try ScriptedMessagesServer()
        let first = toolTurn("msg_1", [("toolu_1", "remember", ["key": "drink", "value": "tea"])])
        server.enqueue(scripted(first, streaming: streaming), scripted(endTurn("msg_2", "I will remember that you like tea."), streaming: streaming))
        let executor = TestToolExecutor()
        let text = TextCollector()
        let loop = makeLoop(server, executor: executor, streaming: streaming, hooks: AgentHooks(streamEvent: { text.add($0) }))
        let store = InMemoryMemoryStore()
        let session = try await AgentSession.open(id: "s1", store: MemoryStoreSessionStore(store: store, namespace: agentNamespace))

        let result = try await loop.run("I like tea. Remember it.", in: session)

        #expect(result.stopReason == .endTurn)
        #expect(result.iterations == 2)
        #expect(result.text == "I will remember that you like tea.")
        #expect(result.usage == Usage(inputTokens: 300, outputTokens: 30, cacheCreationInputTokens: 50, cacheReadInputTokens: 70))
        #expect(await executor.state.memory == ["drink": "tea"])
        if streaming { #expect(text.text == "Working on it.I will remember that you like tea.") } else { #expect(text.text.isEmpty) }

        let requests = server.requests
        #expect(requests.count == 2)
        #expect(requests[0].json?["stream"] == (streaming ? true : nil))
        let second = requests[1].messages
        #expect(second.count == 3)
        #expect(second[0] == .user("I like tea. Remember it."))
        #expect(second[1].jsonValue.jsonString() == first.message.jsonValue.jsonString())
        #expect(second[2].jsonValue.jsonString()
            == #"{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_1","content":"Remembered drink."}]}"#)
        // Prompt caching: a breakpoint on the last tool and on the system prompt.
        let body = try #require(requests[1].json)
        #expect(body["system"] == [["type": "text", "text": "You have a memory.", "cache_control": ["type": "ephemeral"]]])
        let tools = try #require(body["tools"]?.arrayValue)
        #expect(tools.count == 2)
        #expect(tools[0]["cache_control"] == nil)
        #expect(tools[1]["cache_control"] == ["type": "ephemeral"])

        let transcript = await session.transcript
        #expect(transcript.messages.count == 4)
        #expect(transcript.lastStopReason == .endTurn)
        #expect(transcript.usage == result.usage)
        // Saved under reserved keys of the agent's namespace.
        let keys = try await store.allRecords(in: agentNamespace).map(\.key)
        #expect(keys.allSatisfy { ReservedKeys.isReserved($0) })
        #expect(keys.contains("_agent_memory/session/s1/meta"))
        #expect(keys.contains("_agent_memory/session/s1/message/00000003"))
        let saved = try await store.get("_agent_memory/session/s1/message/00000001", in: agentNamespace)
        #expect(saved?.value.jsonString() == first.message.jsonValue.jsonString())
    }

    @Test("three parallel tool_use blocks get one user message with three results, in order", arguments: [true, false])
    func parallelToolUse(streaming: Bool) async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            scripted(toolTurn("msg_1", [
                ("toolu_a", "remember", ["key": "a", "value": "1"]),
                ("toolu_b", "recall", ["key": "missing"]),
                ("toolu_c", "remember", ["key": "c", "value": "3"]),
            ]), streaming: streaming),
            scripted(endTurn("msg_2", "Done."), streaming: streaming))
        let executor = TestToolExecutor()
        let recorder = RecordingToolExecutor(executor)
        let result = try await makeLoop(server, executor: recorder, streaming: streaming).run("Do three things.", in: AgentSession())
        #expect(result.stopReason == .endTurn)
        #expect(await executor.state.batches.map { $0.map(\.id) } == [["toolu_a", "toolu_b", "toolu_c"]])
        #expect(recorder.batches == [3])
        #expect(recorder.calls.map(\.call.name) == ["remember", "recall", "remember"])
        #expect(recorder.calls[1].result.toolResult?.isError == true)
        let messages = server.requests[1].messages
        #expect(messages.count == 3)
        let results = messages[2].blocks.compactMap(\.toolResult)
        #expect(results.map(\.toolUseID) == ["toolu_a", "toolu_b", "toolu_c"])
        #expect(results.map(\.isError) == [false, true, false])
        #expect(results.map(\.text) == ["Remembered a.", "No memory missing.", "Remembered c."])
    }

    @Test("thinking and unknown blocks go back byte for byte", arguments: [true, false])
    func blocksEchoedExactly(streaming: Bool) async throws {
        let thinking = #"{"type":"thinking","thinking":"The user wants tea stored. Ünïcode → fine.","signature":"ErUBCkYIBBgCIkB0c2lnbmF0dXJlLWJ5dGVzLXRoYXQtbXVzdC1yZXR1cm4="}"#
        let redacted = #"{"type":"redacted_thinking","data":"EmwKAhgBEgy3va3pzix/LafPsn4a"}"#
        let unknown = #"{"type":"hologram","payload":{"z":1,"a":[1.5,"é",null,{"deep":true}]},"id":"holo_1","extra":-0.25}"#
        let toolUse = #"{"type":"tool_use","id":"toolu_1","name":"remember","input":{"value":"tea","key":"drink"}}"#
        let responseText = #"{"id":"msg_1","type":"message","role":"assistant","model":"claude-test","content":["#
            + [thinking, redacted, unknown, toolUse].joined(separator: ",")
            + #"],"stop_reason":"tool_use","stop_sequence":null,"usage":{"input_tokens":5,"output_tokens":7}}"#
        let server = try ScriptedMessagesServer()
        if streaming {
            server.enqueue(.stream(try MessageResponse(jsonValue: JSONValue(parsing: responseText))))
        } else {
            server.enqueue(.message(jsonText: responseText))
        }
        server.enqueue(scripted(endTurn("msg_2", "Stored."), streaming: streaming))
        _ = try await makeLoop(server, streaming: streaming).run("Remember tea.", in: AgentSession())
        let body = server.requests[1].bodyText
        let assistantTurn = #"{"role":"assistant","content":["# + [thinking, redacted, unknown, toolUse].joined(separator: ",") + "]}"
        #expect(body.contains(assistantTurn))
    }

    @Test("hooks see every turn and can veto a tool call")
    func hooksAndVeto() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .stream(toolTurn("msg_1", [("toolu_ok", "remember", ["key": "a", "value": "1"]), ("toolu_no", "remember", ["key": "secret", "value": "x"])])),
            .stream(endTurn("msg_2", "Partly done.")))
        let log = HookLog()
        let executor = TestToolExecutor()
        let hooks = AgentHooks(
            shouldRunTool: { call in call.input["key"]?.stringValue == "secret" ? .deny(reason: "Writing \"secret\" is not allowed.") : .run },
            didRunTool: { await log.tool($0, $1) },
            didReceiveTurn: { await log.turn($0) })
        _ = try await makeLoop(server, executor: executor, hooks: hooks).run("Store both.", in: AgentSession())
        #expect(await executor.state.batches.map { $0.map(\.id) } == [["toolu_ok"]])
        #expect(await log.turns.map(\.id) == ["msg_1", "msg_2"])
        let seen = await log.toolResults
        #expect(seen.map(\.0.id) == ["toolu_ok", "toolu_no"])
        let results = server.requests[1].messages[2].blocks.compactMap(\.toolResult)
        #expect(results.map(\.toolUseID) == ["toolu_ok", "toolu_no"])
        #expect(results[1].isError)
        #expect(results[1].text == "Writing \"secret\" is not allowed.")
    }

    @Test("pause_turn sends the turn back; refusal and unknown reasons stop")
    func pauseTurnAndStops() async throws {
        let server = try ScriptedMessagesServer()
        let paused = MessageResponse(
            id: "msg_1", model: "claude-test",
            content: [ContentBlock(json: ["type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": ["query": "tea"]])],
            stopReason: .pauseTurn)
        server.enqueue(.stream(paused), .stream(endTurn("msg_2", "Found it.")))
        let session = AgentSession()
        let loop = makeLoop(server)
        let result = try await loop.run("Search tea.", in: session)
        #expect(result.iterations == 2)
        #expect(result.stopReason == .endTurn)
        let resent = server.requests[1].messages
        #expect(resent.count == 2)
        #expect(resent[1].jsonValue.jsonString() == paused.message.jsonValue.jsonString())

        for reason: StopReason in [.refusal, .stopSequence, "something_new"] {
            let other = try ScriptedMessagesServer()
            other.enqueue(.stream(MessageResponse(id: "m", model: "claude-test", content: [.text("x")], stopReason: reason)))
            let stopped = try await makeLoop(other).run("Hi", in: AgentSession())
            #expect(stopped.stopReason == reason)
            #expect(stopped.iterations == 1)
        }
    }

    @Test("tool calls in a turn stopped by max_tokens are not run; the next prompt answers them")
    func stoppedTurnNotExecuted() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .stream(toolTurn("msg_1", [("toolu_1", "remember", ["key": "a", "value": "1"])], stopReason: .maxTokens)),
            .stream(endTurn("msg_2", "OK.")))
        let executor = TestToolExecutor()
        let loop = makeLoop(server, executor: executor)
        let session = AgentSession()
        let result = try await loop.run("Go.", in: session)
        #expect(result.stopReason == .maxTokens)
        #expect(await executor.state.batches.isEmpty)
        #expect(try await loop.resume(session).iterations == 0)

        _ = try await loop.run("Try again, shorter.", in: session)
        #expect(await executor.state.batches.isEmpty)
        let last = try #require(server.requests[1].messages.last)
        #expect(last.role == .user)
        #expect(last.blocks.first?.toolResult?.toolUseID == "toolu_1")
        #expect(last.blocks.first?.toolResult?.isError == true)
        #expect(last.blocks.last == .text("Try again, shorter."))
    }

    @Test("the maximum number of iterations ends a run; the next run continues it")
    func maxIterations() async throws {
        let server = try ScriptedMessagesServer()
        for index in 1...3 {
            server.enqueue(.stream(toolTurn("msg_\(index)", [("toolu_\(index)", "remember", ["key": .string("k\(index)"), "value": "v"])])))
        }
        let store = InMemoryMemoryStore()
        let sessions = MemoryStoreSessionStore(store: store, namespace: agentNamespace)
        let session = try await AgentSession.open(id: "loop", store: sessions)
        let result = try await makeLoop(server, maxIterations: 3).run("Keep going.", in: session)
        #expect(result.reachedMaxIterations)
        #expect(result.iterations == 3)
        #expect(server.requests.count == 3)
        let transcript = await session.transcript
        #expect(transcript.messages.count == 7)
        #expect(transcript.messages.last?.role == .user)

        // A new process continues from the saved tool results.
        server.enqueue(.stream(endTurn("msg_4", "Finally done.")))
        let reopened = try await AgentSession.open(id: "loop", store: sessions)
        let resumed = try await makeLoop(server, maxIterations: 3).resume(reopened)
        #expect(resumed.stopReason == .endTurn)
        #expect(!resumed.reachedMaxIterations)
        #expect(server.requests[3].messages == transcript.messages)
    }

    @Test("a request error ends the run with a typed error and keeps the transcript")
    func apiErrorDuringRun() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.error(status: 400, type: "invalid_request_error", message: "prompt is too long"))
        let session = AgentSession()
        let error = await #expect(throws: ClaudeAPIError.self) { try await makeLoop(server).run("Hello", in: session) }
        #expect(error?.status == 400)
        #expect(await session.messages == [.user("Hello")])
    }
}

/// Collects streamed text.
final class TextCollector: @unchecked Sendable {
    private let lock = NSLock()
    private var pieces: [String] = []

    func add(_ event: MessageStreamEvent) {
        if case .textDelta(_, let text) = event { lock.withLock { pieces.append(text) } }
    }

    var text: String { lock.withLock { pieces.joined() } }
}
