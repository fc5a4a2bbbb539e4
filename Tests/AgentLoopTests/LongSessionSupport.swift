import AgentMemoryCore
import ClaudeClient
import ClaudeMessages
import AgentMemoryJSON
import AgentLoop
import AgentMemoryTesting
import Foundation
import Testing

/// `remember` and `recall` (memory tools) plus `read_file`, whose results are long: the shape of
/// an agent that reads a lot and keeps what matters in memory.
struct ReadingToolExecutor: ToolExecutor {
    let memory = TestToolExecutor()

    var toolDefinitions: [ToolDefinition] {
        memory.toolDefinitions + [
            ToolDefinition(
                name: "read_file", description: "Read a file.",
                inputSchema: ["type": "object", "properties": ["path": ["type": "string"]], "required": ["path"]])
        ]
    }

    func execute(_ toolUses: [ToolUse]) async -> [ContentBlock] {
        var results: [ContentBlock] = []
        for call in toolUses {
            if call.name == "read_file" {
                let path = call.input["path"]?.stringValue ?? "?"
                results.append(.toolResult(toolUseID: call.id, content: Self.fileText(path)))
            } else {
                results += await memory.execute([call])
            }
        }
        return results
    }

    /// About 1,200 bytes of text for `path`.
    static func fileText(_ path: String) -> String {
        (0..<24).map { "line \($0) of \(path): the quick brown fox jumps over the lazy dog." }.joined(separator: "\n")
    }
}

/// A loop against `server` with a context configuration.
func makeLongLoop(
    _ server: ScriptedMessagesServer, executor: any ToolExecutor = ReadingToolExecutor(), streaming: Bool = false,
    maxIterations: Int = 20, contextManagement: ContextManagement? = nil, contextWindow: ContextWindow? = nil,
    hooks: AgentHooks = AgentHooks()
) -> AgentLoop {
    let client = ClaudeClient(
        configuration: ClaudeConfiguration(apiKey: "sk-test", baseURL: server.baseURL),
        retryTiming: RetryTiming(sleep: { _ in }, jitter: { 1 }))
    return AgentLoop(
        client: client, executor: executor,
        configuration: AgentConfiguration(
            model: "claude-test", maxTokens: 1024, system: "You have a memory.", maxIterations: maxIterations,
            streaming: streaming, contextManagement: contextManagement, contextWindow: contextWindow),
        hooks: hooks)
}

/// Collects context reports from the hook.
actor ContextLog {
    var reports: [ContextReport] = []
    func add(_ report: ContextReport) { reports.append(report) }
}

/// A compaction block as the API returns it, with its fields in the API's order.
let compactionBlockJSON = #"{"type":"compaction","content":"Summary: the user drinks tea; files f0 to f9 were read.","encrypted_content":"EnC-opaque","signature":"c2ln"}"#

/// A response opening with the compaction block, then `rest`.
func compactionTurn(_ id: String, rest: [ContentBlock], stopReason: StopReason, appliedEdits: JSONValue? = nil) throws -> MessageResponse {
    var response = MessageResponse(
        id: id, model: "claude-test", content: [ContentBlock(json: try JSONValue(parsing: compactionBlockJSON).objectValue!)] + rest,
        stopReason: stopReason, usage: Usage(inputTokens: 300, outputTokens: 40))
    if let appliedEdits { response.json["context_management"] = ["applied_edits": appliedEdits] }
    return response
}
