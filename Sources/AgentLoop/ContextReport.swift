import AgentMemoryCore
import ClaudeClient
import AgentMemoryJSON
import ClaudeMessages

/// One edit the server applied to a request, from the response's `context_management.applied_edits`
/// (`types/beta/beta_context_management_response.py`, `beta_clear_tool_uses_20250919_edit_response.py`,
/// `beta_clear_thinking_20251015_edit_response.py` in the `anthropic` 2.14.0 Python package).
public struct AppliedContextEdit: Sendable, Hashable {
    /// The edit's JSON, as received.
    public var json: JSONObject

    /// The edit type, such as `clear_tool_uses_20250919`.
    public var type: String { json["type"]?.stringValue ?? "" }
    /// Input tokens the edit removed (`cleared_input_tokens`).
    public var clearedInputTokens: Int { json["cleared_input_tokens"]?.intValue ?? 0 }
    /// Tool uses cleared (`cleared_tool_uses`), for a tool-clearing edit.
    public var clearedToolUses: Int? { json["cleared_tool_uses"]?.intValue }
    /// Thinking turns cleared (`cleared_thinking_turns`), for a thinking-clearing edit.
    public var clearedThinkingTurns: Int? { json["cleared_thinking_turns"]?.intValue }

    /// The applied edits of `response` (none when it has no `context_management`).
    public static func edits(in response: MessageResponse) -> [AppliedContextEdit] {
        (response.json["context_management"]?["applied_edits"]?.arrayValue ?? []).compactMap {
            $0.objectValue.map(AppliedContextEdit.init(json:))
        }
    }

    /// For example `cleared 12 tool uses (8431 tokens)`.
    public var summary: String {
        if let count = clearedToolUses { return "cleared \(count) tool use\(count == 1 ? "" : "s") (\(clearedInputTokens) tokens)" }
        if let count = clearedThinkingTurns { return "cleared thinking of \(count) turn\(count == 1 ? "" : "s") (\(clearedInputTokens) tokens)" }
        return "\(type) (\(clearedInputTokens) tokens)"
    }
}

/// What the client-side window did to one request (see ``ContextWindow``).
public struct WindowReport: Sendable, Hashable {
    /// Messages of the conversation view (after any compaction).
    public var viewMessages: Int
    /// Messages sent.
    public var sentMessages: Int
    /// Tool results replaced by the placeholder.
    public var clearedToolResults: Int
    /// Thinking blocks of older turns left out.
    public var droppedThinkingBlocks: Int
    /// The request's input tokens: counted by `count_tokens`, or else estimated.
    public var inputTokens: Int
    /// Whether ``inputTokens`` was counted by the API (else it is the local estimate).
    public var counted: Bool
    /// `count_tokens` calls made for this request.
    public var countCalls: Int
    /// Estimated input tokens the window saved (the whole view's estimate minus the request's).
    public var tokensSaved: Int

    /// Whether the window changed the request.
    public var trimmed: Bool { sentMessages < viewMessages || clearedToolResults > 0 || droppedThinkingBlocks > 0 }
}

/// How the context of one model call was managed: the server's applied edits, a compaction,
/// and the client-side window. Given to ``AgentHooks/didManageContext``.
public struct ContextReport: Sendable, Hashable {
    /// The edits the server applied (`context_management.applied_edits`).
    public var appliedEdits: [AppliedContextEdit]
    /// Whether the response carried a `compaction` block (saved as received; later requests start from it).
    public var compacted: Bool
    /// Messages of the transcript no longer sent because a compaction block summarizes them.
    public var compactedMessages: Int
    /// What the client-side window did, when one is configured.
    public var window: WindowReport?

    /// Creates a report.
    public init(appliedEdits: [AppliedContextEdit], compacted: Bool, compactedMessages: Int, window: WindowReport?) {
        self.appliedEdits = appliedEdits
        self.compacted = compacted
        self.compactedMessages = compactedMessages
        self.window = window
    }

    /// Input tokens saved: the server's `cleared_input_tokens` plus the window's estimate.
    public var tokensSaved: Int {
        appliedEdits.reduce(0) { $0 + $1.clearedInputTokens } + (window?.tokensSaved ?? 0)
    }

    /// Whether anything was cleared, compacted or left out.
    public var changedContext: Bool {
        !appliedEdits.isEmpty || compacted || compactedMessages > 0 || window?.trimmed == true
    }

    /// A one-line summary, such as `server cleared 3 tool uses (2100 tokens); window: 40 of 80 messages sent, ...`.
    public var summary: String {
        var parts: [String] = []
        if !appliedEdits.isEmpty { parts.append("server " + appliedEdits.map(\.summary).joined(separator: ", ")) }
        if compacted { parts.append("compacted: a compaction block now stands for the earlier turns") }
        if compactedMessages > 0, !compacted { parts.append("\(compactedMessages) compacted messages not sent") }
        if let window, window.trimmed {
            parts.append(
                "window: \(window.sentMessages) of \(window.viewMessages) messages sent, \(window.clearedToolResults) old tool results "
                    + "cleared, ~\(window.tokensSaved) tokens saved, request \(window.inputTokens) tokens"
                    + (window.counted ? " (counted)" : " (estimated)"))
        }
        parts.append("\(tokensSaved) tokens saved")
        return parts.joined(separator: "; ")
    }
}
