import AgentMemoryJSON
import AgentMemoryCore

/// `recall`: the exact stored string; a miss names the closest existing keys.
struct RecallTool: MemoryToolHandler {
    var stagesInTurn: Bool { true }

    func run(_ raw: JSONValue, in context: ToolContext) async throws -> ToolOutcome {
        let input = try ToolCallInput(tool: "recall", input: raw, allowed: ["key"])
        let key = try input.key()
        if let record = try await context.get(key) {
            await context.noteSeen(key, version: record.version)
            return .success(MemoryText.text(of: record.value))
        }
        let suggestions = try await KeySuggestions.closest(to: key, in: context)
        if suggestions.isEmpty {
            guard try await KeySuggestions.namespaceHasKeys(context) else {
                return .success("No memory is stored under \"\(key)\". The memory is empty: nothing has been remembered yet.")
            }
            return .success("No memory is stored under \"\(key)\", and no stored key is similar. Call list_memory to see the keys that exist.")
        }
        let quoted = suggestions.map { "\"\($0)\"" }.joined(separator: ", ")
        return .success("No memory is stored under \"\(key)\". Closest existing keys: \(quoted). Call recall with one of them, or list_memory to see all keys.")
    }
}
