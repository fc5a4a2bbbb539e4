import AgentMemoryJSON
import ClaudeMessages

/// A tool of the host's own, run by the executor beside the memory tools.
public struct CustomTool: Sendable {
    /// The definition sent to Claude.
    public var definition: ToolDefinition
    /// Runs a call: returns the result text, or throws to produce an `is_error` result whose
    /// text is the error's description.
    public var handler: @Sendable (JSONValue) async throws -> String

    /// Creates a custom tool.
    public init(definition: ToolDefinition, handler: @escaping @Sendable (JSONValue) async throws -> String) {
        self.definition = definition
        self.handler = handler
    }
}
