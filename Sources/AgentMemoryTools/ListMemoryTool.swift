import AgentMemoryJSON
import AgentMemoryCore

/// `list_memory`: one line per key with a preview, a page at a time.
struct ListMemoryTool: MemoryToolHandler {
    var stagesInTurn: Bool { false }

    func run(_ raw: JSONValue, in context: ToolContext) async throws -> ToolOutcome {
        let input = try ToolCallInput(tool: "list_memory", input: raw, allowed: ["prefix", "cursor", "limit"])
        let prefix = try input.optionalString("prefix").flatMap { $0.isEmpty ? nil : $0 }
        let cursor = try input.optionalString("cursor").flatMap { $0.isEmpty ? nil : $0 }
        let limit = try input.optionalInteger("limit", in: 1...100) ?? MemoryToolDefinitions.defaultListLimit
        if let cursor, (try? ListCursor.decode(cursor)) == nil {
            throw input.fail("field \"cursor\" is not a cursor from list_memory; pass the cursor from the previous page's last line unchanged, or omit it to start again")
        }
        let page = try await context.visiblePage(prefix: prefix, cursor: cursor, limit: limit)
        if page.records.isEmpty {
            if let prefix { return .success("No keys start with \"\(prefix)\".") }
            return .success(cursor == nil ? "No memories are stored yet." : "No more keys.")
        }
        // When several agents wrote these keys, say who wrote each one last and when.
        let showAuthors = Set(page.records.map { $0.author ?? "" }).count > 1
        var lines = page.records.map { record in
            let line = "\(record.key): \(MemoryText.preview(of: record.value))"
            guard showAuthors else { return line }
            return line + " (by \(record.author ?? "unknown"), \(ToolContext.shortTime(record.updatedAt)))"
        }
        if let next = page.nextCursor {
            lines.append("More keys remain: call list_memory with cursor \"\(next)\"\(prefix.map { " and prefix \"\($0)\"" } ?? "") to get the next page.")
        }
        return .success(lines.joined(separator: "\n"))
    }
}
