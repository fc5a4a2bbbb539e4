import AgentMemoryCore
import ClaudeClient
import AgentMemoryJSON
import ClaudeMessages

/// Server-side context management: the `context_management` request field with its edits, and
/// the beta headers they need. The API clears old tool results and old thinking from the
/// request it processes, or compacts the conversation into a `compaction` block; the session
/// keeps the whole transcript either way.
///
/// Shapes from the `anthropic` 2.14.0 Python package: `types/beta/beta_context_management_config_param.py`
/// (`{"edits": [...]}`), `beta_clear_tool_uses_20250919_edit_param.py`,
/// `beta_clear_thinking_20251015_edit_param.py`, `beta_compact_20260112_edit_param.py`, and the
/// beta names in `types/anthropic_beta_param.py`.
public struct ContextManagement: Sendable, Hashable {
    /// `clear_tool_uses_20250919`: clears the oldest tool results (and optionally inputs).
    public var clearToolUses: ClearToolUses?
    /// `clear_thinking_20251015`: clears thinking blocks of older assistant turns.
    public var clearThinking: ClearThinking?
    /// `compact_20260112`: summarizes older context into a `compaction` block.
    public var compaction: Compaction?

    /// Creates a configuration; `nil` leaves an edit out.
    public init(clearToolUses: ClearToolUses? = nil, clearThinking: ClearThinking? = nil, compaction: Compaction? = nil) {
        self.clearToolUses = clearToolUses
        self.clearThinking = clearThinking
        self.compaction = compaction
    }

    /// Clearing old tool uses with the server's defaults, the memory tools' calls excepted.
    public static let clearingToolUses = ContextManagement(clearToolUses: ClearToolUses())

    /// The names of this package's memory tools (the executor's defaults and Claude's built-in
    /// `memory`): their calls are what the model keeps, so clearing leaves them by default.
    public static let memoryToolNames: Set<String> = ["remember", "recall", "list_memory", "forget", "search_memory", "memory"]

    /// A sentence for the system prompt of an agent whose context is managed: what it keeps
    /// must be in memory before old context goes.
    public static let memoryReminder = """
        Your context is managed: old tool results are cleared, and older turns may be summarized or left out of \
        what you see. Save progress, decisions and facts you will need again to memory as you go, before they \
        are cleared; your memory is kept in full.
        """

    /// `context-management-2025-06-27`, for the clearing edits.
    public static let contextManagementBeta = "context-management-2025-06-27"
    /// `compact-2026-01-12`, for `compact_20260112` (the beta of the same date in `anthropic_beta_param.py`).
    public static let compactionBeta = "compact-2026-01-12"

    /// Whether any edit is configured.
    public var isEmpty: Bool { clearToolUses == nil && clearThinking == nil && compaction == nil }

    /// The beta headers the configured edits need.
    public var betas: [String] {
        var betas: [String] = []
        if clearToolUses != nil || clearThinking != nil { betas.append(Self.contextManagementBeta) }
        if compaction != nil { betas.append(Self.compactionBeta) }
        return betas
    }

    /// The tools whose calls `clear_tool_uses` leaves: the configured list, or else the memory
    /// tools among `offeredTools`.
    public func excludedTools(offeredTools: [String]) -> [String]? {
        guard let clear = clearToolUses else { return nil }
        return clear.excludeTools ?? offeredTools.filter { Self.memoryToolNames.contains($0) }
    }

    /// The `context_management` field for a request offering `offeredTools` (tool names).
    /// Thinking clearing is listed first (the order the context-editing documentation gives when both are used).
    public func jsonValue(offeredTools: [String]) -> JSONValue {
        var edits: [JSONValue] = []
        if let clearThinking { edits.append(clearThinking.jsonValue) }
        if let clearToolUses {
            var edit = clearToolUses.jsonObject
            if let excluded = excludedTools(offeredTools: offeredTools), !excluded.isEmpty {
                edit["exclude_tools"] = .array(excluded.map(JSONValue.string))
            }
            edits.append(.object(edit))
        }
        if let compaction { edits.append(compaction.jsonValue) }
        return ["edits": .array(edits)]
    }
}

/// When an edit applies: `{"type": "input_tokens" | "tool_uses", "value": N}`
/// (`beta_input_tokens_trigger_param.py`, `beta_tool_uses_trigger_param.py`).
public struct ContextTrigger: Sendable, Hashable {
    /// `input_tokens` or `tool_uses`.
    public var type: String
    /// The threshold.
    public var value: Int

    /// When the request's input reaches `tokens` tokens.
    public static func inputTokens(_ tokens: Int) -> ContextTrigger { ContextTrigger(type: "input_tokens", value: tokens) }
    /// When the conversation holds `count` tool uses.
    public static func toolUses(_ count: Int) -> ContextTrigger { ContextTrigger(type: "tool_uses", value: count) }

    /// The trigger as JSON.
    public var jsonValue: JSONValue { ["type": .string(type), "value": .int(value)] }
}

/// The `clear_tool_uses_20250919` edit; unset fields take the server's defaults.
public struct ClearToolUses: Sendable, Hashable {
    /// When to clear (`trigger`).
    public var trigger: ContextTrigger?
    /// How many of the latest tool uses to keep (`keep`, `{"type": "tool_uses", "value": N}`).
    public var keep: Int?
    /// Clear only when at least this many input tokens go (`clear_at_least`), so a cache miss pays off.
    public var clearAtLeast: Int?
    /// Tools whose uses are never cleared (`exclude_tools`); `nil`: the memory tools offered.
    public var excludeTools: [String]?
    /// Whether to clear the tool calls' inputs too: `true`, `false`, or only these tools' (`clear_tool_inputs`).
    public var clearToolInputs: JSONValue?

    /// Creates the edit.
    public init(
        trigger: ContextTrigger? = nil, keep: Int? = nil, clearAtLeast: Int? = nil, excludeTools: [String]? = nil,
        clearToolInputs: JSONValue? = nil
    ) {
        self.trigger = trigger
        self.keep = keep
        self.clearAtLeast = clearAtLeast
        self.excludeTools = excludeTools
        self.clearToolInputs = clearToolInputs
    }

    var jsonObject: JSONObject {
        var edit: JSONObject = ["type": "clear_tool_uses_20250919"]
        if let trigger { edit["trigger"] = trigger.jsonValue }
        if let keep { edit["keep"] = ["type": "tool_uses", "value": .int(keep)] }
        if let clearAtLeast { edit["clear_at_least"] = ["type": "input_tokens", "value": .int(clearAtLeast)] }
        if let clearToolInputs { edit["clear_tool_inputs"] = clearToolInputs }
        return edit
    }
}

/// The `clear_thinking_20251015` edit (needs extended thinking on).
public struct ClearThinking: Sendable, Hashable {
    /// Thinking of this many latest assistant turns is kept (`{"type": "thinking_turns", "value": N}`);
    /// `nil` keeps all (`{"type": "all"}`).
    public var keepTurns: Int?

    /// Creates the edit.
    public init(keepTurns: Int? = 1) { self.keepTurns = keepTurns }

    /// The edit as JSON.
    public var jsonValue: JSONValue {
        let keep: JSONValue = keepTurns.map { ["type": "thinking_turns", "value": .int($0)] } ?? ["type": "all"]
        return ["type": "clear_thinking_20251015", "keep": keep]
    }
}

/// The `compact_20260112` edit: the server summarizes older context into a `compaction` block.
public struct Compaction: Sendable, Hashable {
    /// Compact when the input reaches this many tokens (the server's default is 150,000).
    public var triggerTokens: Int?
    /// Extra instructions for the summary.
    public var instructions: String?
    /// Return the compaction block alone (stop reason `compaction`) before the model answers;
    /// the loop then continues the turn.
    public var pauseAfterCompaction: Bool

    /// Creates the edit.
    public init(triggerTokens: Int? = nil, instructions: String? = nil, pauseAfterCompaction: Bool = false) {
        self.triggerTokens = triggerTokens
        self.instructions = instructions
        self.pauseAfterCompaction = pauseAfterCompaction
    }

    /// The edit as JSON.
    public var jsonValue: JSONValue {
        var edit: JSONObject = ["type": "compact_20260112"]
        if let triggerTokens { edit["trigger"] = ContextTrigger.inputTokens(triggerTokens).jsonValue }
        if let instructions { edit["instructions"] = .string(instructions) }
        if pauseAfterCompaction { edit["pause_after_compaction"] = true }
        return .object(edit)
    }
}
