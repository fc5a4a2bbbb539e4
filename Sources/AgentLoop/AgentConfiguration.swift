import AgentMemoryCore
import AgentMemoryJSON
import ClaudeClient
import ClaudeMessages

/// What an ``AgentLoop`` sends with every request, and how it runs.
public struct AgentConfiguration: Sendable {
    /// The model front ends and examples use when none is chosen: the one place its name is written.
    public static let defaultModel = "claude-sonnet-5-5"

    /// The model, such as ``defaultModel``.
    public var model: String
    /// `max_tokens` of each request.
    public var maxTokens: Int
    /// The system prompt.
    public var system: SystemPrompt?
    /// The most model calls one ``AgentLoop/run(_:in:)`` makes (default 20).
    public var maxIterations: Int
    /// Where prompt-caching breakpoints go.
    public var promptCaching: PromptCaching
    /// Whether responses are streamed (text reaches ``AgentHooks/streamEvent`` as it arrives).
    public var streaming: Bool
    /// `temperature`, when set.
    public var temperature: Double?
    /// `tool_choice`, when set.
    public var toolChoice: ToolChoice?
    /// `thinking`, such as `{"type": "enabled", "budget_tokens": 2048}`, when set.
    public var thinking: JSONValue?
    /// Any further request fields.
    public var extraFields: JSONObject
    /// What resuming does with tool calls of a saved turn that never got results.
    public var interruptedToolCalls: InterruptedToolCallPolicy
    /// Server-side context management (clearing old tool uses and thinking, compaction), when set;
    /// its beta headers are added to every request.
    public var contextManagement: ContextManagement?
    /// A client-side bound on the request's input tokens, when set.
    public var contextWindow: ContextWindow?

    /// Creates a configuration; everything but the model has the documented default.
    public init(
        model: String, maxTokens: Int = 4096, system: SystemPrompt? = nil, maxIterations: Int = 20,
        promptCaching: PromptCaching = .default, streaming: Bool = true, temperature: Double? = nil,
        toolChoice: ToolChoice? = nil, thinking: JSONValue? = nil, extraFields: JSONObject = JSONObject(),
        interruptedToolCalls: InterruptedToolCallPolicy = .reportInterrupted, contextManagement: ContextManagement? = nil,
        contextWindow: ContextWindow? = nil
    ) {
        self.model = model
        self.maxTokens = maxTokens
        self.system = system
        self.maxIterations = maxIterations
        self.promptCaching = promptCaching
        self.streaming = streaming
        self.temperature = temperature
        self.toolChoice = toolChoice
        self.thinking = thinking
        self.extraFields = extraFields
        self.interruptedToolCalls = interruptedToolCalls
        self.contextManagement = contextManagement
        self.contextWindow = contextWindow
    }
}

/// Where the loop puts `cache_control` breakpoints: the tools and the system prompt are the
/// same on every call of a conversation, so caching them makes every later call cheaper.
public struct PromptCaching: Sendable, Hashable {
    /// A breakpoint on the last tool definition (caching all of them).
    public var tools: Bool
    /// A breakpoint on the (last block of the) system prompt.
    public var system: Bool
    /// The breakpoint value, `{"type": "ephemeral"}` by default.
    public var cacheControl: JSONValue

    /// Creates a setting.
    public init(tools: Bool = true, system: Bool = true, cacheControl: JSONValue = CacheControl.ephemeral) {
        self.tools = tools
        self.system = system
        self.cacheControl = cacheControl
    }

    /// Breakpoints on the tools and the system prompt.
    public static let `default` = PromptCaching()
    /// No breakpoints.
    public static let disabled = PromptCaching(tools: false, system: false)
}

/// What resuming a session does with the tool calls of a saved assistant turn whose results
/// were never saved (the process stopped while running them).
public enum InterruptedToolCallPolicy: Sendable, Hashable {
    /// Answer each with an `is_error` result saying it was interrupted and may or may not have
    /// taken effect (the default). Running it again could repeat a side effect that already
    /// happened (a message sent twice); the model can check and retry on its own.
    case reportInterrupted
    /// Run the calls again, for hosts whose tools are all idempotent.
    case execute
}

/// Whether a tool call may run (see ``AgentHooks/shouldRunTool``).
public enum ToolCallDecision: Sendable, Hashable {
    /// Run it.
    case run
    /// Do not run it; the model gets an `is_error` result with this reason.
    case deny(reason: String)
}

/// Callbacks to observe the loop and veto tool calls.
public struct AgentHooks: Sendable {
    /// Asked before each tool call; `.deny` answers the call with an `is_error` result instead.
    public var shouldRunTool: (@Sendable (ToolUse) async -> ToolCallDecision)?
    /// Called after each tool call (denied ones too) with its result block.
    public var didRunTool: (@Sendable (ToolUse, ContentBlock) async -> Void)?
    /// Called with every response, after it was saved and before its tools run.
    public var didReceiveTurn: (@Sendable (MessageResponse) async -> Void)?
    /// Called with streamed text, thinking and tool input as they arrive (when streaming).
    public var streamEvent: (@Sendable (MessageStreamEvent) -> Void)?
    /// Called after a response whose context was managed (edits applied, a compaction, or a
    /// trimmed window), with what was done and the tokens it saved; before ``didReceiveTurn``.
    public var didManageContext: (@Sendable (ContextReport) async -> Void)?

    /// Creates hooks; all optional.
    public init(
        shouldRunTool: (@Sendable (ToolUse) async -> ToolCallDecision)? = nil,
        didRunTool: (@Sendable (ToolUse, ContentBlock) async -> Void)? = nil,
        didReceiveTurn: (@Sendable (MessageResponse) async -> Void)? = nil,
        streamEvent: (@Sendable (MessageStreamEvent) -> Void)? = nil,
        didManageContext: (@Sendable (ContextReport) async -> Void)? = nil
    ) {
        self.shouldRunTool = shouldRunTool
        self.didRunTool = didRunTool
        self.didReceiveTurn = didReceiveTurn
        self.streamEvent = streamEvent
        self.didManageContext = didManageContext
    }
}

/// What one ``AgentLoop/run(_:in:)`` did.
public struct AgentRunResult: Sendable {
    /// The stop reason of the last response (`nil` when no call was made).
    public var stopReason: StopReason?
    /// Whether the run stopped because it reached ``AgentConfiguration/maxIterations``; the
    /// transcript is complete and the next run continues it.
    public var reachedMaxIterations: Bool
    /// How many model calls this run made.
    public var iterations: Int
    /// Tokens used by this run's calls.
    public var usage: Usage
    /// The last response of this run, if any.
    public var lastResponse: MessageResponse?
    /// How the context of each call was managed, for the calls where something was cleared,
    /// compacted or left out.
    public var contextReports: [ContextReport] = []

    /// Input tokens saved by context management over this run.
    public var tokensSavedByContextManagement: Int { contextReports.reduce(0) { $0 + $1.tokensSaved } }

    /// Whether the run ended because the conversation filled the model's context window.
    public var contextWindowExceeded: Bool { stopReason == .modelContextWindowExceeded }

    /// What to tell a user when ``contextWindowExceeded``.
    public static let contextWindowExceededMessage = """
        the conversation filled the model's context window (stop reason model_context_window_exceeded); the transcript \
        is saved intact. Continue it with context management (server-side clearing or compaction) or a client-side \
        window that keeps the request under a budget, or start a new session
        """

    /// The text of the last response.
    public var text: String { lastResponse?.text ?? "" }
}
