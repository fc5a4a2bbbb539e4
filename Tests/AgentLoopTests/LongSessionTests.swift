import AgentMemoryCore
import ClaudeClient
import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemoryTesting
import Foundation
import Testing

@Suite("Long sessions: context management, compaction, a bounded request")
struct LongSessionTests {
    @Test("300 model calls with 330 tool calls: every request under the budget, pairs valid, edits and headers sent, memory calls kept")
    func threeHundredTurns() async throws {
        let server = try ScriptedMessagesServer()
        var script: [ScriptedResponse] = []
        for turn in 0..<299 {
            var calls: [(id: String, name: String, input: JSONValue)] = [("toolu_r\(turn)", "read_file", ["path": .string("f\(turn)")])]
            if turn % 10 == 0 { calls.insert(("toolu_m\(turn)", "remember", ["key": .string("fact\(turn)"), "value": "kept"]), at: 0) }
            script.append(.message(toolTurn("msg_\(turn)", calls)))
        }
        script.append(.message(endTurn("msg_end", "All files read; the facts are in memory.")))
        server.enqueue(script)
        let budget = 8000
        let log = ContextLog()
        let loop = makeLongLoop(
            server, maxIterations: 400, contextManagement: .clearingToolUses, contextWindow: ContextWindow(maxInputTokens: budget),
            hooks: AgentHooks(didManageContext: { await log.add($0) }))
        let store = InMemoryMemoryStore()
        let sessions = MemoryStoreSessionStore(store: store, namespace: agentNamespace)
        let session = try await AgentSession.open(id: "long", store: sessions)
        let started = ContinuousClock.now
        let result = try await loop.run("Read every file and remember what matters.", in: session)
        let elapsed = ContinuousClock.now - started

        #expect(result.iterations == 300)
        #expect(result.stopReason == .endTurn)
        let requests = server.messageRequests
        #expect(requests.count == 300)
        let expectedEdits: JSONValue = ["edits": [["type": "clear_tool_uses_20250919", "exclude_tools": ["remember", "recall"]]]]
        var sizes: [Int] = []
        let prompt = Message.user("Read every file and remember what matters.").jsonValue
        for request in requests {
            // Parsed once per request: 300 bodies of up to 30 KB.
            let body = try #require(request.json)
            sizes.append(ScriptedAPIRules.tokenCount(of: body))
            #expect(ScriptedAPIRules.conversationError(in: body) == nil)
            let messages = body["messages"]?.arrayValue ?? []
            #expect(messages.first == prompt)
            #expect(request.headers["anthropic-beta"] == "context-management-2025-06-27")
            #expect(body["context_management"] == expectedEdits)
            for message in messages where message["role"] == "user" {
                for block in message["content"]?.arrayValue ?? [] {
                    guard let id = block["tool_use_id"]?.stringValue, id.hasPrefix("toolu_m") else { continue }
                    #expect(block["content"]?.stringValue == "Remembered fact\(id.dropFirst(7)).")
                }
            }
        }
        #expect(sizes.max()! <= budget)
        #expect(sizes.last! < 2 * ScriptedAPIRules.tokenCount(of: requests[20].json!))
        // The transcript keeps everything; the window only shaped the requests.
        let saved = try #require(try await sessions.load("long"))
        #expect(saved.messages.count == 600)
        #expect(saved.messages.filter { $0.role == .user }.flatMap(\.blocks).compactMap(\.toolResult).allSatisfy { !$0.text.hasPrefix("[cleared") })
        #expect(saved.contextMarks.clearedBefore > 0)
        #expect(saved.contextMarks.dropped != nil)
        let reports = await log.reports
        #expect(reports.allSatisfy { $0.window != nil })
        #expect(reports.contains { ($0.window?.clearedToolResults ?? 0) > 0 && $0.tokensSaved > 0 })
        let counts = server.countTokensRequests.count
        #expect(counts < requests.count / 2)
        // Measured, not asserted: what the window costs.
        print(
            "[measure] 300 calls with a \(budget)-token window: request tokens min \(sizes.min()!) max \(sizes.max()!) last \(sizes.last!); "
                + "\(counts) count_tokens calls; whole run \(elapsed) (\(elapsed / 300) per call, scripted server, debug build)")
    }

    @Test("a compaction block is saved exactly, re-sent exactly, earlier turns dropped; a resumed session sends the compacted view")
    func compactionKeptAndResent() async throws {
        let server = try ScriptedMessagesServer()
        let edits: JSONValue = [["type": "clear_tool_uses_20250919", "cleared_input_tokens": 5000, "cleared_tool_uses": 12]]
        let compacted = try compactionTurn(
            "msg_2", rest: [.text("Saving it."), .toolUse(id: "toolu_2", name: "remember", input: ["key": "drink", "value": "tea"])],
            stopReason: .toolUse, appliedEdits: edits)
        server.enqueue(
            .stream(toolTurn("msg_1", [("toolu_1", "read_file", ["path": "notes"])])), .stream(compacted), .stream(endTurn("msg_3", "Noted.")))
        let log = ContextLog()
        let management = ContextManagement(clearToolUses: ClearToolUses(), compaction: Compaction(triggerTokens: 50_000))
        let store = InMemoryMemoryStore()
        let sessions = MemoryStoreSessionStore(store: store, namespace: agentNamespace)
        let session = try await AgentSession.open(id: "c1", store: sessions)
        let loop = makeLongLoop(server, streaming: true, contextManagement: management, hooks: AgentHooks(didManageContext: { await log.add($0) }))
        let result = try await loop.run("Read my notes and remember my drink.", in: session)
        #expect(result.stopReason == .endTurn)
        #expect(result.tokensSavedByContextManagement == 5000)

        let requests = server.messageRequests
        #expect(requests.count == 3)
        #expect(requests[0].headers["anthropic-beta"] == "context-management-2025-06-27,compact-2026-01-12")
        #expect(requests[0].json?["context_management"] == [
            "edits": [
                ["type": "clear_tool_uses_20250919", "exclude_tools": ["remember", "recall"]],
                ["type": "compact_20260112", "trigger": ["type": "input_tokens", "value": 50000]],
            ],
        ])
        #expect(requests[1].messages.count == 3)
        // After the compaction: the compacted assistant turn first, its block byte for byte, then the results.
        let third = try #require(requests[2].json?["messages"]?.arrayValue)
        #expect(third.count == 2)
        #expect(third[0]["content"]?.arrayValue?.first?.jsonString() == compactionBlockJSON)
        #expect(third[0] == compacted.message.jsonValue)
        #expect(third[1]["content"]?.arrayValue?.first?["tool_use_id"] == "toolu_2")

        let reports = await log.reports
        #expect(reports.first?.appliedEdits.first?.clearedToolUses == 12)
        #expect(reports.first?.compacted == true)
        #expect(reports.first?.tokensSaved == 5000)

        // Persisted exactly; a new loop and session object over the same store (a restarted process).
        let saved = try #require(try await sessions.load("c1"))
        #expect(saved.messages.count == 6)
        #expect(saved.messages[3].blocks.first?.jsonValue.jsonString() == compactionBlockJSON)
        #expect(saved.contextMarks.compactedBefore == 3)
        let server2 = try ScriptedMessagesServer()
        server2.enqueue(.message(endTurn("msg_4", "You drink tea.")))
        let resumed = try await AgentSession.open(id: "c1", store: sessions)
        _ = try await makeLongLoop(server2, contextManagement: management).run("What do I drink?", in: resumed)
        let sent = try #require(server2.messageRequests.first?.json?["messages"]?.arrayValue)
        #expect(sent.count == 4)
        #expect(sent[0]["content"]?.arrayValue?.first?.jsonString() == compactionBlockJSON)
        #expect(sent[3] == ["role": "user", "content": "What do I drink?"])
        #expect(try await sessions.load("c1")?.messages.count == 8)
    }

    @Test("pause_after_compaction: a turn that stops for compaction is sent back and continued")
    func pauseAfterCompaction() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(
            .message(try compactionTurn("msg_1", rest: [], stopReason: .compaction)),
            .message(endTurn("msg_2", "Carrying on from the summary.")))
        let management = ContextManagement(compaction: Compaction(instructions: "Keep file names.", pauseAfterCompaction: true))
        let session = AgentSession()
        let result = try await makeLongLoop(server, contextManagement: management).run("Go on.", in: session)
        #expect(result.iterations == 2)
        #expect(result.stopReason == .endTurn)
        let requests = server.messageRequests
        #expect(requests[0].json?["context_management"] == [
            "edits": [["type": "compact_20260112", "instructions": "Keep file names.", "pause_after_compaction": true]],
        ])
        #expect(requests[0].headers["anthropic-beta"] == "compact-2026-01-12")
        let second = requests[1].messages
        #expect(second.count == 1)
        #expect(second[0].role == .assistant)
        #expect(second[0].blocks.map(\.jsonValue) == [try JSONValue(parsing: compactionBlockJSON)])
        #expect(await session.messages.count == 3)
    }

    @Test("model_context_window_exceeded ends the run with the transcript intact and the turn's tools not run")
    func contextWindowExceeded() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.message(toolTurn("msg_1", [("toolu_1", "read_file", ["path": "huge"])], stopReason: .modelContextWindowExceeded)))
        let executor = ReadingToolExecutor()
        let store = InMemoryMemoryStore()
        let sessions = MemoryStoreSessionStore(store: store, namespace: agentNamespace)
        let session = try await AgentSession.open(id: "x1", store: sessions)
        let result = try await makeLongLoop(server, executor: executor).run("Read the huge file.", in: session)
        #expect(result.contextWindowExceeded)
        #expect(result.stopReason == .modelContextWindowExceeded)
        #expect(result.iterations == 1)
        #expect(AgentRunResult.contextWindowExceededMessage.hasPrefix("the conversation filled the model's context window"))
        #expect(await executor.memory.state.batches.isEmpty)
        let saved = try #require(try await sessions.load("x1"))
        #expect(saved.messages.count == 2)
        #expect(saved.lastStopReason == .modelContextWindowExceeded)
        #expect(server.requests.count == 1)
    }

    @Test("a budget too small for the first and latest turns is a clear error and nothing is sent")
    func budgetTooSmall() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.message(endTurn("msg_1", "never")))
        let loop = makeLongLoop(server, contextWindow: ContextWindow(maxInputTokens: 50))
        let error = await #expect(throws: ContextWindowError.self) { try await loop.run("Hello there.", in: AgentSession()) }
        #expect(error?.message.contains("over the context budget of 50 tokens") == true)
        #expect(server.messageRequests.isEmpty)
        #expect(server.countTokensRequests.count == 1)
    }

    @Test("the window drops thinking of older turns whole and keeps the latest turn's, signatures unchanged")
    func thinkingBlocks() async throws {
        let server = try ScriptedMessagesServer()
        let thinking = ContentBlock(json: ["type": "thinking", "thinking": .string(String(repeating: "hmm ", count: 300)), "signature": "sig"])
        var script: [ScriptedResponse] = []
        for turn in 0..<12 {
            script.append(.message(MessageResponse(
                id: "msg_\(turn)", model: "claude-test",
                content: [thinking, .toolUse(id: "toolu_\(turn)", name: "read_file", input: ["path": .string("f\(turn)")])],
                stopReason: .toolUse)))
        }
        script.append(.message(endTurn("msg_end", "Done.")))
        server.enqueue(script)
        let loop = makeLongLoop(server, contextWindow: ContextWindow(maxInputTokens: 4000))
        _ = try await loop.run("Read twelve files.", in: AgentSession())
        for request in server.messageRequests {
            let messages = request.messages
            guard let lastAssistant = messages.lastIndex(where: { $0.role == .assistant }) else { continue }
            #expect(messages[lastAssistant].blocks.first == thinking)
            for message in messages where message.role == .assistant {
                #expect(message.blocks.filter { $0.type == .thinking }.allSatisfy { $0 == thinking })
            }
            #expect(ScriptedAPIRules.tokenCount(of: request.json!) <= 4000)
        }
        let last = try #require(server.messageRequests.last?.messages)
        #expect(last.filter { $0.blocks.contains { $0.type == .thinking } }.count < 12)
    }
}
