import AgentMemoryJSON
import ClaudeMessages
import Testing

/// The Messages API model on its own: lossless decoding, open sets, tool blocks.
@Suite("Messages model")
struct MessageModelTests {
    /// A response with a signed thinking block, a block type this library does not know, an
    /// unknown stop reason and extra fields (the shapes of the Messages API reference).
    static let response = """
        {"id":"msg_01","type":"message","role":"assistant","model":"claude-x",\
        "content":[{"type":"thinking","thinking":"Let me see.","signature":"EqQBCkgIARABGAIiQL=="},\
        {"type":"future_block","payload":{"b":1,"a":[2.50,3]}},\
        {"type":"text","text":"Hi","citations":null},\
        {"type":"tool_use","id":"toolu_1","name":"recall","input":{"key":"k"}}],\
        "stop_reason":"some_new_reason","stop_sequence":null,\
        "usage":{"input_tokens":10,"output_tokens":3,"server_tool_use":{"web_search_requests":0}},\
        "container":{"id":"c1"}}
        """

    @Test func aResponseRoundTripsByteForByte() throws {
        let parsed = try MessageResponse(jsonValue: JSONValue(parsing: Self.response))
        #expect(parsed.jsonValue.jsonString() == (try JSONValue(parsing: Self.response)).jsonString())
        #expect(parsed.content.map(\.type) == ["thinking", "future_block", "text", "tool_use"])
        #expect(parsed.stopReason?.rawValue == "some_new_reason")
        #expect(parsed.text == "Hi")
        #expect(parsed.toolUses == [ToolUse(id: "toolu_1", name: "recall", input: ["key": "k"])])
        #expect(parsed.usage.inputTokens == 10)
    }

    @Test func theAssistantMessageSendsEveryBlockBackUnchanged() throws {
        let parsed = try MessageResponse(jsonValue: JSONValue(parsing: Self.response))
        let message = parsed.message
        #expect(message.role == .assistant)
        let blocks = message.blocks.map { $0.jsonValue.jsonString() }
        #expect(blocks[0] == #"{"type":"thinking","thinking":"Let me see.","signature":"EqQBCkgIARABGAIiQL=="}"#)
        #expect(blocks[1] == #"{"type":"future_block","payload":{"b":1,"a":[2.5,3]}}"#)  // key order kept
        let again = try Message(jsonValue: message.jsonValue)
        #expect(again == message)
    }

    @Test func toolResultsCarryTheirIdErrorFlagAndText() throws {
        let ok = ContentBlock.toolResult(toolUseID: "toolu_1", content: "done")
        let failed = ContentBlock.toolResult(toolUseID: "toolu_2", content: "bad input", isError: true)
        #expect(ok.jsonValue.jsonString() == #"{"type":"tool_result","tool_use_id":"toolu_1","content":"done"}"#)
        #expect(failed.toolResult?.isError == true)
        #expect(failed.toolResult?.text == "bad input")
        #expect(ok.toolResult?.isError == false)
        let user = Message(role: .user, content: [ok, failed])
        #expect(user.jsonValue.jsonString().hasPrefix(#"{"role":"user","content":[{"type":"tool_result""#))
    }

    @Test(arguments: [
        ("[]", "a message must be a JSON object, got array"),
        (#"{"content":"x"}"#, #"a message needs a string "role""#),
        (#"{"role":"user"}"#, #"a message needs "content""#),
        (#"{"role":"user","content":5}"#, "message content must be a string or an array of blocks, got integer"),
    ])
    func malformedMessagesSayWhatIsWrong(json: String, message: String) throws {
        let value = try JSONValue(parsing: json)
        #expect(performing: { try Message(jsonValue: value) }, throws: { ($0 as? MessageDecodingError)?.message == message })
    }

    @Test func stringContentStaysAString() throws {
        let message = try Message(jsonValue: JSONValue(parsing: #"{"role":"user","content":"Hello"}"#))
        #expect(message.text == "Hello")
        #expect(message.jsonValue.jsonString() == #"{"role":"user","content":"Hello"}"#)
    }
}
