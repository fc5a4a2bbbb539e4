import AgentMemoryCore
import ClaudeClient
import AgentMemoryJSON
import ClaudeMessages

/// The part of a saved transcript that requests send: after a compaction, the conversation
/// starts at the latest `compaction` block, which stands for everything before it.
///
/// Rules from the `anthropic` 2.14.0 Python package: the block is round-tripped verbatim
/// (`types/beta/beta_compaction_block_param.py`); it must be the first block of the
/// conversation (`types/compaction_block_misplaced_error.py`); only the block returned last is
/// sent (`types/compaction_block_ambiguous_error.py`); a block with `null` content is a failed
/// compaction that the server treats as a no-op, so it does not start a view.
public enum ConversationView {
    /// The message and block index of the latest `compaction` block with content, if any.
    public static func latestCompaction(in messages: [Message]) -> (message: Int, block: Int)? {
        for index in messages.indices.reversed() {
            guard case .blocks(let blocks) = messages[index].content else { continue }
            if let position = blocks.lastIndex(where: { $0.type == "compaction" && $0.json["content"]?.stringValue != nil }) {
                return (index, position)
            }
        }
        return nil
    }

    /// The messages a request sends for `messages`, and the transcript index of the first one:
    /// everything from the latest compaction block on (that message starting at the block,
    /// which is kept exactly as received), or all messages when there is none.
    public static func requestMessages(_ messages: [Message]) -> (base: Int, messages: [Message]) {
        guard let (index, position) = latestCompaction(in: messages) else { return (0, messages) }
        var first = messages[index]
        if position > 0, case .blocks(let blocks) = first.content { first.content = .blocks(Array(blocks[position...])) }
        return (index, [first] + messages[(index + 1)...])
    }
}

/// Where the latest request's context ended, saved with the session (transcript indices), so
/// `agent-memory transcript` can mark it and a resumed session keeps the same window.
public struct ContextMarks: Sendable, Hashable {
    /// Messages before this index are summarized by a compaction block and not sent.
    public var compactedBefore: Int
    /// Tool results (and thinking) in messages before this index were cleared by the client-side window.
    public var clearedBefore: Int
    /// Messages left out of the latest request by the client-side window.
    public var dropped: Range<Int>?
    /// Tool results in messages before this index were cleared by the server (`clear_tool_uses`).
    public var serverClearedBefore: Int

    /// No marks.
    public init(compactedBefore: Int = 0, clearedBefore: Int = 0, dropped: Range<Int>? = nil, serverClearedBefore: Int = 0) {
        self.compactedBefore = compactedBefore
        self.clearedBefore = clearedBefore
        self.dropped = dropped
        self.serverClearedBefore = serverClearedBefore
    }

    /// Whether nothing is marked.
    public var isEmpty: Bool { self == ContextMarks() }

    /// The marks as saved in the session metadata.
    public var jsonValue: JSONValue {
        var object: JSONObject = [
            "compacted_before": .int(compactedBefore), "cleared_before": .int(clearedBefore),
            "server_cleared_before": .int(serverClearedBefore),
        ]
        if let dropped { object["dropped"] = [.int(dropped.lowerBound), .int(dropped.upperBound)] }
        return .object(object)
    }

    /// Reads saved marks; missing fields are zero.
    public init(jsonValue: JSONValue) {
        self.init(
            compactedBefore: jsonValue["compacted_before"]?.intValue ?? 0,
            clearedBefore: jsonValue["cleared_before"]?.intValue ?? 0,
            serverClearedBefore: jsonValue["server_cleared_before"]?.intValue ?? 0)
        if let range = jsonValue["dropped"]?.arrayValue, range.count == 2, let low = range[0].intValue, let high = range[1].intValue,
           low <= high
        {
            dropped = low..<high
        }
    }
}
