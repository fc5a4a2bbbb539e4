import ClaudeMessages
import AgentMemoryJSON
import AgentMemoryTesting
import ClaudeClient
import Foundation
import Testing

@Suite("Client requests and responses")
struct ClientRequestTests {
    @Test("POST /v1/messages with the API headers and the request JSON")
    func sendsHeadersAndBody() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.message(textResponse("Hi there")))
        let client = makeClient(server, betas: ["beta-one", "beta-two"])
        let request = MessageRequest(
            model: "claude-test", maxTokens: 100, system: .text("Be brief."), messages: [.user("Hello")],
            tools: [ToolDefinition(name: "t", description: "d", inputSchema: ["type": "object"])],
            toolChoice: ToolChoice(.auto, disableParallelToolUse: true), temperature: 0.5, stopSequences: ["STOP"],
            metadata: ["user_id": "u1"], thinking: ["type": "enabled", "budget_tokens": 1024],
            extraFields: ["top_k": 5])
        let response = try await client.createMessage(request)
        #expect(response.text == "Hi there")
        #expect(response.stopReason == .endTurn)
        #expect(response.usage.inputTokens == 10)
        let recorded = try #require(server.requests.first)
        #expect(recorded.method == "POST")
        #expect(recorded.path == "/v1/messages")
        #expect(recorded.headers["x-api-key"] == "sk-test-secret-key")
        #expect(recorded.headers["anthropic-version"] == "2023-06-01")
        #expect(recorded.headers["content-type"] == "application/json")
        #expect(recorded.headers["anthropic-beta"] == "beta-one,beta-two")
        #expect(recorded.bodyText == request.jsonValue.jsonString())
        #expect(recorded.bodyText.hasPrefix(#"{"model":"claude-test","max_tokens":100,"system":"Be brief.","messages":[{"role":"user","content":"Hello"}]"#))
        #expect(recorded.json?["tool_choice"] == ["type": "auto", "disable_parallel_tool_use": true])
        #expect(recorded.json?["top_k"] == 5)
        #expect(recorded.json?["stream"] == nil)
    }

    @Test("a missing API key fails before any request")
    func missingKey() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.message(textResponse("never")))
        let client = makeClient(server, apiKey: nil)
        let error = await #expect(throws: ClaudeAPIError.self) { try await client.createMessage(simpleRequest) }
        #expect(error?.kind == .missingAPIKey)
        #expect(error?.description.contains("ANTHROPIC_API_KEY") == true)
        #expect(server.requests.isEmpty)
        let empty = try ClaudeConfiguration.fromEnvironment(["ANTHROPIC_API_KEY": ""])
        #expect(empty.apiKey == nil)
    }

    @Test("configuration from the environment, and the key never printed")
    func environmentAndRedaction() throws {
        let configuration = try ClaudeConfiguration.fromEnvironment([
            "ANTHROPIC_API_KEY": "sk-ant-very-secret", "ANTHROPIC_BASE_URL": "http://127.0.0.1:9/",
        ])
        #expect(configuration.apiKey == "sk-ant-very-secret")
        #expect(configuration.messagesURL.absoluteString == "http://127.0.0.1:9/v1/messages")
        #expect(configuration.maxRetries == 2)
        #expect(configuration.timeout == .seconds(600))
        var dumped = ""
        dump(configuration, to: &dumped)
        for text in [configuration.description, configuration.debugDescription, String(describing: configuration), dumped] {
            #expect(!text.contains("very-secret"))
        }
        #expect(throws: ClaudeAPIError.self) { try ClaudeConfiguration.fromEnvironment(["ANTHROPIC_BASE_URL": "not a url"]) }
        #expect(ClaudeConfiguration(apiKey: "k").messagesURL.absoluteString == "https://api.anthropic.com/v1/messages")
    }

    @Test("unknown fields, block types and stop reasons are kept")
    func losslessResponse() async throws {
        let server = try ScriptedMessagesServer()
        let text = #"{"id":"msg_x","type":"message","role":"assistant","model":"m","content":[{"type":"hologram","data":{"b":1,"a":[true,null]}},{"type":"text","text":"ok","citations":null}],"stop_reason":"brand_new_reason","stop_sequence":null,"usage":{"input_tokens":3,"cache_creation_input_tokens":7,"cache_read_input_tokens":11,"output_tokens":2,"service_tier":"standard"},"container":{"id":"c1"}}"#
        server.enqueue(.message(jsonText: text))
        let response = try await makeClient(server).createMessage(simpleRequest)
        #expect(response.jsonValue.jsonString() == text)
        #expect(response.stopReason == StopReason(rawValue: "brand_new_reason"))
        #expect(response.content.first?.type == BlockType(rawValue: "hologram"))
        #expect(response.usage + .zero == Usage(inputTokens: 3, outputTokens: 2, cacheCreationInputTokens: 7, cacheReadInputTokens: 11))
        #expect(response.usage.extraFields["service_tier"] == "standard")
        #expect(response.extraFields["container"] == ["id": "c1"])
        #expect(response.usage.totalInputTokens == 21)
        let sum = response.usage + Usage(inputTokens: 1, outputTokens: 1, cacheCreationInputTokens: 1, cacheReadInputTokens: 1)
        #expect(sum == Usage(inputTokens: 4, outputTokens: 3, cacheCreationInputTokens: 8, cacheReadInputTokens: 12))
    }

    @Test("a 200 body that is not a message quotes its first bytes")
    func malformedSuccessBody() async throws {
        let server = try ScriptedMessagesServer()
        server.enqueue(.raw(status: 200, headers: [("content-type", "text/html")], body: Array("<html>oops</html>".utf8)))
        let error = await #expect(throws: ClaudeAPIError.self) { try await makeClient(server).createMessage(simpleRequest) }
        #expect(error?.kind == .invalidResponse)
        #expect(error?.message.contains("\"<html>oops</html>\"") == true)
        #expect(server.requests.count == 1)
    }

    @Test("cache_control helpers")
    func cacheControl() {
        let tool = ToolDefinition(name: "t", description: "d", inputSchema: ["type": "object"]).withCacheControl()
        #expect(tool.jsonValue.jsonString() == #"{"name":"t","description":"d","input_schema":{"type":"object"},"cache_control":{"type":"ephemeral"}}"#)
        let system = SystemPrompt.text("S").withCacheControl(CacheControl.ephemeral(ttl: "1h"))
        #expect(system.jsonValue.jsonString() == #"[{"type":"text","text":"S","cache_control":{"type":"ephemeral","ttl":"1h"}}]"#)
        let message = Message.user("hi").withCacheControlOnLastBlock()
        #expect(message.jsonValue.jsonString() == #"{"role":"user","content":[{"type":"text","text":"hi","cache_control":{"type":"ephemeral"}}]}"#)
    }
}
