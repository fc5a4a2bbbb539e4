import AgentMemoryCore
import ClaudeClient
import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemoryTesting
import Foundation
import Testing

/// A small executor for tests: `remember` and `recall` over a dictionary, every call recorded.
actor TestToolExecutorState {
    var batches: [[ToolUse]] = []
    var memory: [String: String] = [:]

    func run(_ calls: [ToolUse]) -> [ContentBlock] {
        batches.append(calls)
        return calls.map { call in
            let key = call.input["key"]?.stringValue ?? ""
            switch call.name {
            case "remember":
                memory[key] = call.input["value"]?.stringValue ?? ""
                return .toolResult(toolUseID: call.id, content: "Remembered \(key).")
            case "recall":
                guard let value = memory[key] else { return .toolResult(toolUseID: call.id, content: "No memory \(key).", isError: true) }
                return .toolResult(toolUseID: call.id, content: value)
            default:
                return .toolResult(toolUseID: call.id, content: "Unknown tool \(call.name).", isError: true)
            }
        }
    }
}

struct TestToolExecutor: ToolExecutor {
    let state = TestToolExecutorState()

    var toolDefinitions: [ToolDefinition] {
        let schema: JSONValue = [
            "type": "object", "properties": ["key": ["type": "string"], "value": ["type": "string"]],
            "required": ["key"], "additionalProperties": false,
        ]
        return [
            ToolDefinition(name: "remember", description: "Store a value under a key.", inputSchema: schema),
            ToolDefinition(name: "recall", description: "Read the value under a key.", inputSchema: schema),
        ]
    }

    func execute(_ toolUses: [ToolUse]) async -> [ContentBlock] {
        await state.run(toolUses)
    }
}

/// Records hook calls.
actor HookLog {
    var turns: [MessageResponse] = []
    var toolResults: [(ToolUse, ContentBlock)] = []
    func turn(_ response: MessageResponse) { turns.append(response) }
    func tool(_ call: ToolUse, _ result: ContentBlock) { toolResults.append((call, result)) }
}

func toolTurn(_ id: String, _ calls: [(id: String, name: String, input: JSONValue)], stopReason: StopReason = .toolUse) -> MessageResponse {
    MessageResponse(
        id: id, model: "claude-test",
        content: [.text("Working on it.")] + calls.map { ContentBlock.toolUse(id: $0.id, name: $0.name, input: $0.input) },
        stopReason: stopReason, usage: Usage(inputTokens: 100, outputTokens: 20, cacheCreationInputTokens: 50, cacheReadInputTokens: 10))
}

func endTurn(_ id: String, _ text: String) -> MessageResponse {
    MessageResponse(
        id: id, model: "claude-test", content: [.text(text)], stopReason: .endTurn,
        usage: Usage(inputTokens: 200, outputTokens: 10, cacheReadInputTokens: 60))
}

func scripted(_ response: MessageResponse, streaming: Bool) -> ScriptedResponse {
    streaming ? .stream(response) : .message(response)
}

func makeLoop(
    _ server: ScriptedMessagesServer, executor: any ToolExecutor = TestToolExecutor(), streaming: Bool = true,
    maxIterations: Int = 20, hooks: AgentHooks = AgentHooks(), policy: InterruptedToolCallPolicy = .reportInterrupted
) -> AgentLoop {
    let client = ClaudeClient(
        configuration: ClaudeConfiguration(apiKey: "sk-test", baseURL: server.baseURL),
        retryTiming: RetryTiming(sleep: { _ in }, jitter: { 1 }))
    return AgentLoop(
        client: client, executor: executor,
        configuration: AgentConfiguration(
            model: "claude-test", maxTokens: 1024, system: "You have a memory.", maxIterations: maxIterations,
            streaming: streaming, interruptedToolCalls: policy),
        hooks: hooks)
}

let agentNamespace = try! Namespace("agent-1")
