import ClaudeClient
import AgentLoop
import AgentMemory

/// An agent with memory, assembled the same way by every front end: the memory tools bound to
/// a store, namespace and agent id, the agent loop over a Claude client, and the session its
/// conversation is saved in (in the same namespace, under reserved keys).
public struct MemoryAgent: Sendable {
    /// The loop that calls Claude and runs its tool calls.
    public let loop: AgentLoop
    /// The memory tools, bound to the store, namespace, agent id, tool set and access.
    public let executor: MemoryToolExecutor
    /// The conversation, saved after every step.
    public let session: AgentSession

    /// The system prompt front ends use when none is given: use memory to keep facts and to
    /// look them up before saying you do not know.
    public static let defaultSystemPrompt = """
        You are a helpful assistant with persistent memory. Use your memory tools to save facts worth keeping \
        (preferences, names, decisions, progress) and to look up what you saved in earlier conversations \
        before saying you do not know.
        """

    /// Opens session `sessionID` in `namespace` of `store` (its saved transcript, or a new one)
    /// and binds the memory tools and the loop to it. Nothing is sent. `agent` is the author of
    /// every write, the tools' and the session's. Throws a `SessionError` for a bad id or a
    /// transcript that cannot be read.
    public static func open(
        sessionID: String, store: any MemoryStore, namespace: Namespace, agent: String?,
        client: ClaudeClient, configuration: AgentConfiguration,
        tools: [MemoryToolKind] = MemoryToolKind.defaultSet, access: MemoryAccess = .readWrite,
        hooks: AgentHooks = AgentHooks()
    ) async throws -> MemoryAgent {
        let executor = MemoryToolExecutor(store: store, namespace: namespace, agent: agent, tools: tools, access: access)
        let session = try await AgentSession.open(
            id: sessionID, store: MemoryStoreSessionStore(store: store, namespace: namespace, author: agent))
        let loop = AgentLoop(client: client, executor: executor, configuration: configuration, hooks: hooks)
        return MemoryAgent(loop: loop, executor: executor, session: session)
    }

    /// Sends `prompt` as a user turn and runs the loop until Claude stops (see ``AgentLoop/run(_:in:)``).
    public func run(_ prompt: String) async throws -> AgentRunResult {
        try await loop.run(prompt, in: session)
    }
}
