import AgentMemoryJSON
import AgentMemoryCore

/// `forget`: deletes a key.
struct ForgetTool: MemoryToolHandler {
    var stagesInTurn: Bool { true }

    func run(_ raw: JSONValue, in context: ToolContext) async throws -> ToolOutcome {
        let input = try ToolCallInput(tool: "forget", input: raw, allowed: ["key"])
        let key = try input.key()
        if try await context.write(.delete(key: key, author: context.agent)).deleted {
            return .success("Forgot \"\(key)\".")
        }
        return .success("No memory is stored under \"\(key)\"; nothing was forgotten.")
    }
}
