import AgentMemoryJSON
import AgentMemoryCore

/// Claude's built-in `memory` tool (`memory_20250818`), run by ``BuiltinMemoryTool``.
struct MemoryFileTool: MemoryToolHandler {
    var stagesInTurn: Bool { false }

    func run(_ raw: JSONValue, in context: ToolContext) async throws -> ToolOutcome {
        let result = await BuiltinMemoryTool(
            store: context.store, namespace: context.namespace, author: context.agent, readOnly: context.readOnly, clock: context.clock
        ).run(raw)
        return ToolOutcome(text: result.text, isError: result.isError)
    }
}
