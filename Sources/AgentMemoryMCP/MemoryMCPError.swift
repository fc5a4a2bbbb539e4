/// A configuration the MCP server refuses, with a message that says why.
public struct MemoryMCPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public var message: String

    /// An error with `message`.
    public init(_ message: String) { self.message = message }

    /// The message.
    public var description: String { message }

    /// Claude's built-in `memory` tool was asked for.
    public static let builtinMemoryTool = MemoryMCPError(
        "The built-in memory tool (memory_20250818) is not served over MCP: the Messages API defines it by a type, "
            + "not an input schema, and MCP tools need an input schema. Serve remember, recall, list_memory, forget "
            + "and search_memory instead (in `agent-memory mcp`, --tools all serves all five).")
}
