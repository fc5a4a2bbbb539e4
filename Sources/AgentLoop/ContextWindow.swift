import AgentMemoryCore
import ClaudeClient
import AgentMemoryJSON
import ClaudeMessages

/// A client-side bound on the request, for endpoints without server-side context management:
/// the request's input (system prompt, tools and messages) is kept under ``maxInputTokens``.
///
/// When the request grows past ``countAbove`` of the budget, the oldest tool results are
/// replaced by ``placeholder`` (and thinking of older turns left out), then the oldest turns are
/// left out, until it is under ``trimTo`` of the budget; then it is counted with
/// `count_tokens`, and trimmed further while the count is over. Between counts a local estimate
/// (JSON bytes / 4, scaled by the last count) decides. The system prompt, the tools, the first
/// message of the conversation (the first user turn, or the compaction block) and the latest
/// two messages are always sent; a `tool_use` and its `tool_result` are sent or left out
/// together; a thinking block is sent unchanged or not at all, and the latest assistant
/// turn's are always sent. Trimming to well under the budget makes the window move seldom,
/// so the prompt cache keeps working between moves. The transcript keeps everything.
public struct ContextWindow: Sendable, Hashable {
    /// The budget of the request's input tokens (system, tools and messages), not counting `max_tokens`.
    public var maxInputTokens: Int
    /// What replaces a cleared tool result's content.
    public var placeholder: String
    /// Whether requests near the budget are counted with `count_tokens` (else only estimated).
    public var countsTokens: Bool
    /// The share of the budget the window trims to when it moves.
    public var trimTo: Double
    /// The share of the budget above which the window moves (and the request is counted).
    public var countAbove: Double

    /// The placeholder: short, and tells the model where the result went.
    public static let defaultPlaceholder = "[cleared: an old tool result, left out to keep the request small; look it up again or check your memory]"

    /// Creates a window.
    public init(
        maxInputTokens: Int, placeholder: String = ContextWindow.defaultPlaceholder, countsTokens: Bool = true,
        trimTo: Double = 0.7, countAbove: Double = 0.85
    ) {
        self.maxInputTokens = maxInputTokens
        self.placeholder = placeholder
        self.countsTokens = countsTokens
        self.trimTo = trimTo
        self.countAbove = countAbove
    }
}

/// The request needs more tokens than the client-side window allows, even with everything
/// that may go left out.
public struct ContextWindowError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// What is wrong.
    public var description: String { message }
}

/// Where the window stands on a conversation view: tool results in messages before
/// `clearedBefore` are cleared, messages `1..<dropEnd` are left out.
struct WindowPlan: Hashable {
    var clearedBefore = 0
    var dropEnd = 1
}

/// Computes windows over one conversation view, with each message's size measured once.
struct WindowPlanner {
    let view: [Message]
    let placeholder: String
    private let protectedCalls: Set<String>
    private let lastAssistant: Int?
    private var originalBytes: [Int]
    private var clearedBytes: [Int?]

    /// A planner over `view`; `known` sizes (by view index) are taken as measured before.
    init(
        view: [Message], protectedTools: Set<String>, placeholder: String,
        known: (original: [Int: Int], cleared: [Int: Int]) = ([:], [:])
    ) {
        self.view = view
        self.placeholder = placeholder
        var protected: Set<String> = []
        for message in view { for call in message.toolUses where protectedTools.contains(call.name) { protected.insert(call.id) } }
        protectedCalls = protected
        let lastAssistant = view.lastIndex { $0.role == .assistant }
        self.lastAssistant = lastAssistant
        originalBytes = view.indices.map { known.original[$0] ?? view[$0].jsonValue.jsonByteCount + 1 }
        // A cleared size stays right only for messages before the latest assistant turn (whose
        // thinking is kept while it is the latest).
        clearedBytes = view.indices.map { index in index < (lastAssistant ?? 0) ? known.cleared[index] : nil }
    }

    /// The sizes measured so far that stay valid as the conversation grows, by view index.
    var measured: (original: [Int: Int], cleared: [Int: Int]) {
        var original: [Int: Int] = [:]
        var cleared: [Int: Int] = [:]
        for index in view.indices {
            original[index] = originalBytes[index]
            if index < (lastAssistant ?? 0), let size = clearedBytes[index] { cleared[index] = size }
        }
        return (original, cleared)
    }

    /// Message `index` with its tool results cleared and older thinking left out, and how many of each.
    func cleared(_ index: Int) -> (message: Message, results: Int, thinking: Int) {
        var message = view[index]
        guard case .blocks(let blocks) = message.content else { return (message, 0, 0) }
        var results = 0
        var kept: [ContentBlock] = []
        for block in blocks {
            if let result = block.toolResult, !protectedCalls.contains(result.toolUseID) {
                var json: JSONObject = ["type": "tool_result", "tool_use_id": .string(result.toolUseID), "content": .string(placeholder)]
                if result.isError { json["is_error"] = true }
                kept.append(ContentBlock(json: json))
                results += 1
            } else {
                kept.append(block)
            }
        }
        var thinking = 0
        if message.role == .assistant, index != lastAssistant {
            let without = kept.filter { $0.type != .thinking && $0.type != .redactedThinking }
            if !without.isEmpty, without.count < kept.count {
                thinking = kept.count - without.count
                kept = without
            }
        }
        message.content = .blocks(kept)
        return (results == 0 && thinking == 0 ? view[index] : message, results, thinking)
    }

    /// The JSON bytes of the messages `plan` sends.
    mutating func bytes(_ plan: WindowPlan) -> Int {
        var total = 2
        for index in view.indices where !(1..<max(1, plan.dropEnd)).contains(index) {
            if index < plan.clearedBefore {
                if clearedBytes[index] == nil { clearedBytes[index] = cleared(index).message.jsonValue.jsonByteCount + 1 }
                total += clearedBytes[index]!
            } else {
                total += originalBytes[index]
            }
        }
        return total
    }

    /// The next, smaller plan: clear one more message, else leave out the next turn; `nil` when
    /// nothing more may go. The latest two messages are never touched.
    func advance(_ plan: WindowPlan) -> WindowPlan? {
        let protectedFrom = max(1, view.count - 2)
        var next = plan
        let cleared = max(plan.clearedBefore, plan.dropEnd) + 1
        if cleared <= protectedFrom {
            next.clearedBefore = cleared
            return next
        }
        var end = plan.dropEnd + 1
        while end < protectedFrom {
            let candidate = view[end]
            if candidate.role != view[0].role, !candidate.blocks.contains(where: { $0.type == .toolResult }) {
                next.dropEnd = end
                return next
            }
            end += 1
        }
        return nil
    }

    /// Whether `plan` is a window this view allows (a restored plan may not be).
    func isValid(_ plan: WindowPlan) -> Bool {
        guard plan.clearedBefore >= 0, plan.clearedBefore <= max(1, view.count - 2), plan.dropEnd >= 1 else { return false }
        if plan.dropEnd == 1 { return true }
        guard plan.dropEnd < max(1, view.count - 2) else { return false }
        let first = view[plan.dropEnd]
        return first.role != view[0].role && !first.blocks.contains { $0.type == .toolResult }
    }

    /// The messages `plan` sends, with what it cleared.
    func messages(_ plan: WindowPlan) -> (messages: [Message], results: Int, thinking: Int) {
        var messages: [Message] = []
        var results = 0
        var thinking = 0
        for index in view.indices where !(1..<max(1, plan.dropEnd)).contains(index) {
            if index < plan.clearedBefore {
                let cleared = cleared(index)
                messages.append(cleared.message)
                results += cleared.results
                thinking += cleared.thinking
            } else {
                messages.append(view[index])
            }
        }
        return (messages, results, thinking)
    }
}
