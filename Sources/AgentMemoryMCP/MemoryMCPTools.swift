import AgentMemory
import MCP

/// The memory tools as MCP tools: `tools/list` and `tools/call` (swift-sdk 0.12.1
/// `Sources/MCP/Server/Tools.swift`: `Tool`, `Tool.Annotations`, `CallTool.Result`).
///
/// Names, descriptions and input schemas are the executor's own definitions (the same JSON as
/// `tool-schemas/`); calls run through ``MemoryToolExecutor/run(name:input:)``, so a model
/// mistake is a result with `isError: true`, never a protocol error or a write.
enum MemoryMCPTools {
    /// The MCP tools for `executor`'s memory tools. In read-only access only the tools that do
    /// not write are offered (a call to another still answers with the executor's refusal).
    static func tools(for executor: MemoryToolExecutor) -> [Tool] {
        executor.tools
            .filter { executor.access == .readWrite || !$0.writes }
            .map { tool in
                let definition = MemoryToolDefinitions.definition(for: tool).json
                return Tool(
                    name: tool.rawValue,
                    title: title(of: tool),
                    description: definition["description"]?.stringValue,
                    inputSchema: MCPValueBridge.value(definition["input_schema"] ?? [:]),
                    annotations: annotations(for: tool))
            }
    }

    /// Runs one `tools/call` through the executor.
    static func call(_ parameters: CallTool.Parameters, executor: MemoryToolExecutor) async -> CallTool.Result {
        let outcome = await executor.run(name: parameters.name, input: MCPValueBridge.input(parameters.arguments))
        return CallTool.Result(content: [.text(text: outcome.text, annotations: nil, _meta: nil)], isError: outcome.isError)
    }

    /// The hints a host uses to decide what to confirm with the user. `remember` is not marked
    /// destructive: it writes only the key the model names and never deletes; `forget` is.
    /// `forget` is idempotent (a second delete leaves the store as the first did); `remember`
    /// is not (its `append` mode adds again). No tool reaches outside the store.
    static func annotations(for tool: MemoryToolKind) -> Tool.Annotations {
        switch tool {
        case .recall, .listMemory, .searchMemory:
            return Tool.Annotations(
                title: title(of: tool), readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false)
        case .forget:
            return Tool.Annotations(
                title: title(of: tool), readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false)
        case .remember, .memory:
            return Tool.Annotations(
                title: title(of: tool), readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false)
        }
    }

    /// A human-readable title.
    static func title(of tool: MemoryToolKind) -> String {
        switch tool {
        case .remember: return "Remember"
        case .recall: return "Recall"
        case .listMemory: return "List memory"
        case .forget: return "Forget"
        case .searchMemory: return "Search memory"
        case .memory: return "Memory files"
        }
    }
}
