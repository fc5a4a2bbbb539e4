import AgentMemoryJSON
import AgentMemoryCore

/// One memory tool: reads its input and runs against the executor's context.
protocol MemoryToolHandler: Sendable {
    /// Whether the tool's calls can be staged in the turn's batch: they only get, put, append
    /// and delete single keys through the context. Other tools see the store with the turn's
    /// writes committed first.
    var stagesInTurn: Bool { get }

    /// Runs one call. Throws ``ToolInputError`` for a model mistake and ``MemoryError`` for a
    /// store failure; the executor turns both into `is_error` results.
    func run(_ input: JSONValue, in context: ToolContext) async throws -> ToolOutcome
}

extension MemoryToolKind {
    /// The tool's implementation.
    var handler: any MemoryToolHandler {
        switch self {
        case .remember: return RememberTool()
        case .recall: return RecallTool()
        case .listMemory: return ListMemoryTool()
        case .forget: return ForgetTool()
        case .searchMemory: return SearchMemoryTool()
        case .memory: return MemoryFileTool()
        }
    }
}
