import AgentMemoryJSON
import AgentMemoryCore

/// `search_memory`: ranked full-text search, one line per hit with an excerpt.
struct SearchMemoryTool: MemoryToolHandler {
    var stagesInTurn: Bool { false }

    func run(_ raw: JSONValue, in context: ToolContext) async throws -> ToolOutcome {
        let input = try ToolCallInput(tool: "search_memory", input: raw, allowed: ["query", "limit"])
        let query = try input.requiredString("query")
        guard !SearchText.terms(of: query).isEmpty else {
            throw input.fail("field \"query\" must contain at least one word")
        }
        let limit = try input.optionalInteger("limit", in: 1...50) ?? MemoryToolDefinitions.defaultSearchLimit
        // Ask for a few more in case reserved records match, then keep `limit` visible ones.
        let hits = try await context.store.search(query, in: context.namespace, limit: limit + 5)
            .filter { !ReservedKeys.isReserved($0.record.key) }
            .prefix(limit)
        if hits.isEmpty { return .success("No memories match \"\(query)\".") }
        return .success(hits.map { "\($0.record.key): \(MemoryText.singleLine($0.snippet, limit: 200))" }.joined(separator: "\n"))
    }
}
