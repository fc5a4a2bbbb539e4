import ClaudeMessages
import AgentMemoryJSON
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing

@Suite("Token counting, the API's conversation rules, compaction and applied edits on the wire")
struct CountTokensTests {
    let request = MessageRequest(
        model: "claude-test", maxTokens: 100, system: .text("Be brief."), messages: [.user("Hello there")],
        tools: [ToolDefinition(name: "t", description: "d", inputSchema: ["type": "object"])], temperature: 0.5,
        stopSequences: ["STOP"], metadata: ["user_id": "u1"], extraFields: ["context_management": ["edits": []]])

    @Test("countTokens posts only the fields count_tokens takes and returns input_tokens")
    func countsTokens() async throws {
        let server = try ScriptedMessagesServer()
        let client = makeClient(server)
        let count = try await client.countTokens(request, betas: ["context-management-2025-06-27"])
        let recorded = try #require(server.requests.first)
        #expect(recorded.method == "POST")
        #expect(recorded.path == "/v1/messages/count_tokens")
        #expect(recorded.headers["x-api-key"] == "sk-test-secret-key")
        #expect(recorded.headers["anthropic-beta"] == "context-management-2025-06-27,token-counting-2024-11-01")
        #expect(recorded.json?.objectValue?.keys == ["model", "system", "messages", "tools", "context_management"])
        #expect(count == ScriptedAPIRules.tokenCount(of: request.jsonValue))
        #expect(count > 0)
        #expect(server.messageRequests.isEmpty)
        #expect(server.countTokensRequests.count == 1)
    }

    @Test("countTokens without betas sends no anthropic-beta header")
    func noBetas() async throws {
        let server = try ScriptedMessagesServer()
        _ = try await makeClient(server).countTokens(simpleRequest)
        #expect(server.requests.first?.headers["anthropic-beta"] == nil)
    }

    @Test("countTokens retries like messages and throws the same typed errors")
    func retriesAndErrors() async throws {
        let server = try ScriptedMessagesServer()
        server.countsTokens = false
        server.enqueue(
            .error(status: 529, type: "overloaded_error", message: "Overloaded", headers: [("retry-after-ms", "10")]),
            .json(["input_tokens": 42]),
            .error(status: 400, type: "invalid_request_error", message: "messages: bad", requestID: "req_9"),
            .json(["tokens": 1]))
        let sleeps = SleepRecorder()
        let client = makeClient(server, sleeps: sleeps)
        #expect(try await client.countTokens(simpleRequest) == 42)
        #expect(sleeps.sleeps == [.milliseconds(10)])
        let error = await #expect(throws: ClaudeAPIError.self) { try await client.countTokens(simpleRequest) }
        #expect(error?.kind == .api)
        #expect(error?.status == 400)
        #expect(error?.errorType == "invalid_request_error")
        #expect(error?.requestID == "req_9")
        let malformed = await #expect(throws: ClaudeAPIError.self) { try await client.countTokens(simpleRequest) }
        #expect(malformed?.kind == .invalidResponse)
        #expect(server.requests.count == 4)
    }

    @Test("the scripted server rejects an orphan tool_result and an unanswered tool_use with a 400, as the API does")
    func rejectsBrokenToolPairs() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.message(textResponse("never sent")))
        let client = makeClient(server)
        var orphan = simpleRequest
        orphan.messages = [
            .user("Hi"), Message(role: .assistant, content: [.text("Hm.")]),
            Message(role: .user, content: [.toolResult(toolUseID: "toolu_gone", content: "x")]),
        ]
        let error = await #expect(throws: ClaudeAPIError.self) { try await client.createMessage(orphan) }
        #expect(error?.status == 400)
        #expect(error?.errorType == "invalid_request_error")
        #expect(error?.message.hasPrefix("messages.2.content: unexpected `tool_use_id` found in `tool_result` blocks: toolu_gone.") == true)
        var unanswered = simpleRequest
        unanswered.messages = [
            .user("Hi"), Message(role: .assistant, content: [.toolUse(id: "toolu_1", name: "t", input: [:])]), .user("And?"),
        ]
        let second = await #expect(throws: ClaudeAPIError.self) { try await client.createMessage(unanswered) }
        #expect(second?.message.hasPrefix("messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_1.") == true)
        #expect(server.remainingResponses == 1)
    }

    @Test("a streamed compaction block and applied edits assemble to the response as sent, field order included")
    func streamedCompaction() async throws {
        let response = try MessageResponse(jsonValue: JSONValue(parsing: compactionResponseJSON))
        let server = try ScriptedMessagesServer()
        server.enqueue(.stream(response), .message(response))
        let client = makeClient(server)
        let streamed = try await client.streamMessage(request)
        #expect(streamed.jsonValue.jsonString() == compactionResponseJSON)
        #expect(streamed.content.first?.jsonValue.jsonString()
            == #"{"type":"compaction","content":"The user likes tea; 41 files read.","encrypted_content":"EnC0","signature":"sig-1"}"#)
        let plain = try await client.createMessage(request)
        #expect(plain == streamed)
        #expect(server.requests.last?.json?["stream"] == nil)
    }
}

/// A response with a compaction block and applied edits, in the field order of the API's.
let compactionResponseJSON = #"{"id":"msg_c","type":"message","role":"assistant","model":"claude-test","# + #""content":[{"type":"compaction","content":"The user likes tea; 41 files read.","encrypted_content":"EnC0","signature":"sig-1"},{"type":"text","text":"Continuing."}],"#
    + #""stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":900,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":30},"#
    + #""context_management":{"applied_edits":[{"type":"clear_tool_uses_20250919","cleared_input_tokens":5000,"cleared_tool_uses":12}]}}"#
