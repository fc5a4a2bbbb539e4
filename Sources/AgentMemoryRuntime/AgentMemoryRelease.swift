/// The release of AgentMemory this build is: what `agent-memory --version` prints and what the
/// MCP server names in `initialize`.
public enum AgentMemoryRelease {
    /// The version, in semantic versioning's form.
    public static let version = "0.1.0"
}
