import AgentLoop
import ClaudeMessages
import ClaudeClient
import AgentMemoryJSON
import AgentMemory
import AgentMemoryTesting
import Foundation
import Testing

/// `run` with the long-session flags, a resume in a second process after a compaction, and
/// `demo --long`, run as processes against a scripted Messages API server on 127.0.0.1.
@Suite("agent-memory long sessions", .serialized)
struct LongSessionCLITests {
    static let compactionBlock = #"{"type":"compaction","content":"Summary: the user lives in Lisbon.","encrypted_content":"EnC","signature":"c2ln"}"#

    static func response(_ id: String, _ content: [ContentBlock], _ stopReason: StopReason, edits: JSONValue? = nil) -> MessageResponse {
        var response = MessageResponse(
            id: id, model: "claude-sonnet-5-5", content: content, stopReason: stopReason, usage: Usage(inputTokens: 10, outputTokens: 5))
        if let edits { response.json["context_management"] = ["applied_edits": edits] }
        return response
    }

    @Test func flagsAddTheEditsHeadersAndReminderAndTheSummaryShowsSavings() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        let edits: JSONValue = [["type": "clear_tool_uses_20250919", "cleared_input_tokens": 1200, "cleared_tool_uses": 3]]
        server.enqueue(.stream(Self.response("msg_1", [.text("Done.")], .endTurn, edits: edits)))
        let result = try await cli.run(
            ["run", "Hello.", "--session", "f1", "--context-management", "--compact-at", "60000", "--max-context", "20000"],
            extraEnvironment: RunCommandTests.environment(server))
        #expect(result.status == 0, "\(result.stderr)")
        let request = try #require(server.messageRequests.first)
        #expect(request.headers["anthropic-beta"] == "context-management-2025-06-27,compact-2026-01-12")
        #expect(request.json?["context_management"] == [
            "edits": [
                ["type": "clear_tool_uses_20250919", "exclude_tools": ["remember", "recall", "list_memory"]],
                ["type": "compact_20260112", "trigger": ["type": "input_tokens", "value": 60000]],
            ],
        ])
        #expect(request.json?["system"]?.arrayValue?.first?["text"]?.stringValue?.contains("Save progress, decisions and facts you will need again to memory as you go") == true)
        #expect(result.stderr.contains("[context: server cleared 3 tool uses (1200 tokens); 1200 tokens saved]"))
        #expect(result.stderr.contains("[context: 1 edit applied by the API (cleared 3 tool uses (1200 tokens)) · 1200 input tokens saved]"))
        // The request was small, so nothing was counted or trimmed.
        #expect(server.countTokensRequests.isEmpty)
    }

    @Test func badFlagsChangeNothing() async throws {
        let cli = CommandRunner()
        let zero = try await cli.run(["run", "Hi", "--max-context", "0"], extraEnvironment: ["ANTHROPIC_API_KEY": "k"])
        #expect(zero.status == 2)
        #expect(zero.stderr == "error: --max-context must be at least 1, got 0\n")
        let compact = try await cli.run(["chat", "--compact-at", "0"], extraEnvironment: ["ANTHROPIC_API_KEY": "k"])
        #expect(compact.status == 2)
        #expect(compact.stderr == "error: --compact-at must be at least 1, got 0\n")
    }

    @Test func aSecondProcessAfterACompactionSendsTheCompactedView() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        let environment = RunCommandTests.environment(server)
        let block = ContentBlock(json: try JSONValue(parsing: Self.compactionBlock).objectValue!)
        server.enqueue(
            .stream(Self.response("msg_1", [.toolUse(id: "toolu_1", name: "remember", input: ["key": "user.city", "value": "Lisbon"])], .toolUse)),
            .stream(Self.response("msg_2", [block, .text("Saved.")], .endTurn)))
        let first = try await cli.run(["run", "I live in Lisbon.", "--session", "c1", "--compact-at", "50000"], extraEnvironment: environment)
        #expect(first.status == 0, "\(first.stderr)")
        #expect(first.stderr.contains("compacted"))

        server.enqueue(.stream(Self.response("msg_3", [.text("Lisbon.")], .endTurn)))
        let second = try await cli.run(["run", "Where do I live?", "--session", "c1", "--compact-at", "50000"], extraEnvironment: environment)
        #expect(second.status == 0, "\(second.stderr)")
        let sent = try #require(server.messageRequests.last?.json?["messages"]?.arrayValue)
        #expect(sent.count == 2)
        #expect(sent[0]["content"]?.arrayValue?.first?.jsonString() == Self.compactionBlock)
        #expect(sent[1] == ["role": "user", "content": "Where do I live?"])

        // The saved transcript keeps every message; --marks shows what the requests no longer send.
        let transcript = try await cli.run(["transcript", "c1"])
        #expect(transcript.status == 0)
        let saved = try JSONValue(parsing: transcript.stdout).arrayValue ?? []
        #expect(saved.count == 6)
        #expect(saved[3]["content"]?.arrayValue?.first?.jsonString() == Self.compactionBlock)
        let marked = try await cli.run(["transcript", "c1", "--marks"])
        #expect(marked.stdout == """
            #0 user: text "I live in Lisbon."  [compacted]
            #1 assistant: tool_use remember  [compacted]
            #2 user: tool_result  [compacted]
            #3 assistant: compaction, text "Saved."  [compaction block]
            #4 user: text "Where do I live?"
            #5 assistant: text "Lisbon."

            """)
    }

    @Test func contextWindowExceededEndsWithAClearMessageAndTheTranscriptIntact() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        server.enqueue(.stream(Self.response("msg_1", [.text("I cannot fit")], .modelContextWindowExceeded)))
        let result = try await cli.run(["run", "Go on.", "--session", "x1"], extraEnvironment: RunCommandTests.environment(server))
        #expect(result.status == 1)
        #expect(result.stderr.contains(
            "[the conversation filled the model's context window (stop reason model_context_window_exceeded); the transcript "
                + "is saved intact. Continue it with --session x1 and --context-management, --compact-at TOKENS or --max-context TOKENS, "
                + "or start a new session]"))
        let transcript = try await cli.run(["transcript", "x1"])
        #expect((try JSONValue(parsing: transcript.stdout).arrayValue ?? []).count == 2)
    }

    @Test func demoLongKeepsTheRequestFlatAndASecondProcessResumes() async throws {
        let cli = CommandRunner()
        let result = try await cli.run(["demo", "--long", "--turns", "31"])
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stdout.contains("THE MODEL IS SCRIPTED"))
        #expect(result.stdout.contains("3 findings in memory"))
        #expect(result.stdout.contains("← recall: page 30: revenue up 4%"))
        #expect(result.stdout.contains("claude (scripted): From memory: page 30: revenue up 4%"))
        let sizes = result.stdout.split(separator: "\n").filter { $0.hasPrefix("  ") }.compactMap { line -> Int? in
            let columns = line.split(separator: " ")
            return columns.count == 4 ? Int(columns[3]) : nil
        }
        #expect(sizes.count >= 4)
        #expect(sizes.allSatisfy { $0 <= 3000 })
    }
}

extension LongSessionCLITests {
    @Test func maxContextTrimsTheRequestAndTranscriptMarksShowWhat() async throws {
        let server = try ScriptedMessagesServer()
        defer { server.stop() }
        let cli = CommandRunner()
        let page = String(repeating: "A long note about the project. ", count: 60)
        #expect(try await cli.run(["remember", "notes", page]).status == 0)
        var script: [ScriptedResponse] = []
        for turn in 0..<8 {
            script.append(.stream(Self.response("msg_\(turn)", [.toolUse(id: "toolu_\(turn)", name: "recall", input: ["key": "notes"])], .toolUse)))
        }
        script.append(.stream(Self.response("msg_end", [.text("Read it eight times.")], .endTurn)))
        server.enqueue(script)
        let result = try await cli.run(
            ["run", "Read the notes eight times.", "--session", "m1", "--max-context", "2500"], extraEnvironment: RunCommandTests.environment(server))
        #expect(result.status == 0, "\(result.stderr)")
        #expect(result.stderr.contains("request(s) trimmed by --max-context") || result.stderr.contains("requests trimmed by --max-context"))
        for request in server.messageRequests {
            #expect(ScriptedAPIRules.tokenCount(of: try #require(request.json)) <= 2500)
        }
        #expect(!server.countTokensRequests.isEmpty)
        let marked = try await cli.run(["transcript", "m1", "--marks"]).stdout.split(separator: "\n")
        #expect(marked.count == 18)
        #expect(marked[0] == "#0 user: text \"Read the notes eight times.\"")
        #expect(marked.contains { $0.hasSuffix("[left out]") })
        #expect(marked.contains { $0.hasSuffix("tool_result  [cleared]") })
        #expect(marked.last == "#17 assistant: text \"Read it eight times.\"")
        let whole = try JSONValue(parsing: try await cli.run(["transcript", "m1"]).stdout).arrayValue ?? []
        #expect(whole.count == 18)
        #expect(whole.allSatisfy { !$0.jsonString().contains("[cleared") })
    }
}
