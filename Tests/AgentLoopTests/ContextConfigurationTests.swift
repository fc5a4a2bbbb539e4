import AgentMemoryCore
import ClaudeClient
import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemoryTesting
import Foundation
import Testing

@Suite("Context management shapes and the scripted API's compaction rules")
struct ContextConfigurationTests {
    @Test("every field of the three edits, in the SDK's shapes, thinking first")
    func editShapes() {
        let management = ContextManagement(
            clearToolUses: ClearToolUses(
                trigger: .toolUses(30), keep: 5, clearAtLeast: 2000, excludeTools: ["web_search"], clearToolInputs: ["read_file"]),
            clearThinking: ClearThinking(keepTurns: 2),
            compaction: Compaction(triggerTokens: 120_000, instructions: "Keep decisions.", pauseAfterCompaction: true))
        #expect(management.jsonValue(offeredTools: ["remember", "read_file"]) == [
            "edits": [
                ["type": "clear_thinking_20251015", "keep": ["type": "thinking_turns", "value": 2]],
                [
                    "type": "clear_tool_uses_20250919", "trigger": ["type": "tool_uses", "value": 30],
                    "keep": ["type": "tool_uses", "value": 5], "clear_at_least": ["type": "input_tokens", "value": 2000],
                    "clear_tool_inputs": ["read_file"], "exclude_tools": ["web_search"],
                ],
                [
                    "type": "compact_20260112", "trigger": ["type": "input_tokens", "value": 120000],
                    "instructions": "Keep decisions.", "pause_after_compaction": true,
                ],
            ],
        ])
        #expect(management.betas == ["context-management-2025-06-27", "compact-2026-01-12"])
        #expect(ClearThinking(keepTurns: nil).jsonValue == ["type": "clear_thinking_20251015", "keep": ["type": "all"]])
        // No memory tool offered and no list given: nothing excluded.
        #expect(ContextManagement.clearingToolUses.jsonValue(offeredTools: ["read_file"])
            == ["edits": [["type": "clear_tool_uses_20250919"]]])
        #expect(ContextManagement().isEmpty)
        #expect(ContextManagement().betas.isEmpty)
    }

    @Test("applied edits are read from the response, thinking edits included")
    func appliedEdits() throws {
        var response = endTurn("msg_1", "ok")
        response.json["context_management"] = [
            "applied_edits": [
                ["type": "clear_thinking_20251015", "cleared_input_tokens": 700, "cleared_thinking_turns": 3],
                ["type": "clear_tool_uses_20250919", "cleared_input_tokens": 900, "cleared_tool_uses": 1],
            ],
        ]
        let edits = AppliedContextEdit.edits(in: response)
        #expect(edits.map(\.summary) == ["cleared thinking of 3 turns (700 tokens)", "cleared 1 tool use (900 tokens)"])
        #expect(AppliedContextEdit.edits(in: endTurn("msg_2", "plain")).isEmpty)
        let report = ContextReport(appliedEdits: edits, compacted: false, compactedMessages: 0, window: nil)
        #expect(report.tokensSaved == 1600)
        #expect(report.summary == "server cleared thinking of 3 turns (700 tokens), cleared 1 tool use (900 tokens); 1600 tokens saved")
    }

    @Test("the compacted view starts at the latest compaction block with content; a failed one (null content) does not count")
    func compactedView() throws {
        let block = ContentBlock(json: try JSONValue(parsing: compactionBlockJSON).objectValue!)
        let failed = ContentBlock(json: ["type": "compaction", "content": .null])
        let messages: [Message] = [
            .user("Start."), Message(role: .assistant, content: [.text("before"), block, .text("after")]), .user("Next."),
            Message(role: .assistant, content: [failed, .text("Still here.")]),
        ]
        let (base, view) = ConversationView.requestMessages(messages)
        #expect(base == 1)
        #expect(view.count == 3)
        #expect(view[0].blocks == [block, .text("after")])
        #expect(ConversationView.requestMessages([.user("Hi")]).base == 0)
        // The scripted API takes it, and rejects the block anywhere but first, or two with content.
        #expect(ScriptedAPIRules.conversationError(in: ["messages": .array(view.map(\.jsonValue))]) == nil)
        #expect(ScriptedAPIRules.conversationError(in: ["messages": .array(messages.map(\.jsonValue))])
            == "messages.1.content.1: a `compaction` block must be the first block of the conversation")
        let twice = [Message(role: .assistant, content: [block, block])]
        #expect(ScriptedAPIRules.conversationError(in: ["messages": .array(twice.map(\.jsonValue))])
            == "messages.0.content.1: a `compaction` block must be the first block of the conversation")
    }

    @Test("a resumed session keeps the window where the last request left it, and saves marks in the session")
    func windowResumes() async throws {
        let server = try ScriptedMessagesServer()
        var script: [ScriptedResponse] = []
        for turn in 0..<30 { script.append(.message(toolTurn("msg_\(turn)", [("toolu_\(turn)", "read_file", ["path": .string("f\(turn)")])]))) }
        script.append(.message(endTurn("msg_end", "Done.")))
        server.enqueue(script)
        let sessions = MemoryStoreSessionStore(store: InMemoryMemoryStore(), namespace: agentNamespace)
        let window = ContextWindow(maxInputTokens: 2000)
        _ = try await makeLongLoop(server, maxIterations: 50, contextWindow: window)
            .run("Read thirty files.", in: try await AgentSession.open(id: "w1", store: sessions))
        let saved = try #require(try await sessions.load("w1"))
        let dropped = try #require(saved.contextMarks.dropped)
        #expect(dropped.lowerBound == 1)
        #expect(saved.contextMarks.clearedBefore > dropped.upperBound)
        let lastSent = try #require(server.messageRequests.last?.messages)

        let server2 = try ScriptedMessagesServer()
        server2.enqueue(.message(endTurn("msg_new", "Still here.")))
        _ = try await makeLongLoop(server2, contextWindow: window).run("Anything else?", in: try await AgentSession.open(id: "w1", store: sessions))
        let resumed = try #require(server2.messageRequests.first?.messages)
        // The same window (same start, same cleared results) plus the two newest messages: the prompt cache still matches.
        #expect(Array(resumed.prefix(lastSent.count)) == lastSent)
        #expect(resumed.count == lastSent.count + 2)
        #expect(ScriptedAPIRules.tokenCount(of: try #require(server2.messageRequests.first?.json)) <= 2000)
    }
}
