import ClaudeMessages
import AgentMemoryJSON
import Foundation

/// What the scripted server checks and computes on its own, as the Messages API does: the
/// conversation rules it rejects requests for, and a deterministic token count for
/// `POST /v1/messages/count_tokens`.
public enum ScriptedAPIRules {
    /// The scripted server's token count of a request body: one token per 4 bytes (rounded up)
    /// of the compact JSON of its `system`, `tools` and `messages`. Not the model's tokenizer,
    /// but stable, so tests can check every request against a budget with the same measure.
    public static func tokenCount(of body: JSONValue) -> Int {
        var bytes = 0
        for field in ["system", "tools", "messages"] {
            if let value = body[field] { bytes += value.jsonString().utf8.count }
        }
        return (bytes + 3) / 4
    }

    /// Why the API would reject the conversation of `body` with a 400 `invalid_request_error`,
    /// or `nil` when it is acceptable:
    ///
    /// - a `tool_use` block (in any message but the last) without a `tool_result` for its id in
    ///   the next message, which must be a user turn;
    /// - a `tool_result` whose `tool_use_id` names no `tool_use` of the message before it;
    /// - a `compaction` block with content that is not the first block of the conversation
    ///   (`types/compaction_block_misplaced_error.py` in the `anthropic` 2.14.0 Python package; so
    ///   there is never more than one, which `compaction_block_ambiguous_error.py` forbids).
    ///
    /// The tool-pair wording follows the API's own messages.
    public static func conversationError(in body: JSONValue) -> String? {
        let messages = (body["messages"]?.arrayValue ?? []).compactMap { try? Message(jsonValue: $0) }
        for (index, message) in messages.enumerated() {
            let blocks = message.blocks
            // A block with `null` content is a failed compaction the server treats as a no-op
            // (`types/beta/beta_compaction_block.py`), so only blocks with content are placed.
            for (position, block) in blocks.enumerated() where block.type == "compaction" && block.json["content"]?.stringValue != nil {
                if index != 0 || position != 0 {
                    return "messages.\(index).content.\(position): a `compaction` block must be the first block of the conversation"
                }
            }
            let previousCalls: Set<String> = index > 0 && messages[index - 1].role == .assistant
                ? Set(messages[index - 1].toolUses.map(\.id)) : []
            let orphans = blocks.compactMap(\.toolResult).map(\.toolUseID).filter { !previousCalls.contains($0) }
            if !orphans.isEmpty {
                return "messages.\(index).content: unexpected `tool_use_id` found in `tool_result` blocks: "
                    + orphans.joined(separator: ", ")
                    + ". Each `tool_result` block must have a corresponding `tool_use` block in the previous message."
            }
            let calls = message.role == .assistant ? message.toolUses.map(\.id) : []
            guard !calls.isEmpty, index + 1 < messages.count else { continue }
            let next = messages[index + 1]
            let answered = next.role == .user ? Set(next.blocks.compactMap(\.toolResult).map(\.toolUseID)) : []
            let unanswered = calls.filter { !answered.contains($0) }
            if !unanswered.isEmpty {
                return "messages.\(index): `tool_use` ids were found without `tool_result` blocks immediately after: "
                    + unanswered.joined(separator: ", ")
                    + ". Each `tool_use` block must have a corresponding `tool_result` block in the next message."
            }
        }
        return nil
    }
}

extension ScriptedMessagesServer {
    /// The answer the server gives on its own: a token count, or the API's rejection of a
    /// conversation that breaks its rules; `nil` for a request that takes a scripted response.
    func automaticAnswer(_ request: RecordedRequest) -> ScriptedResponse? {
        guard request.method == "POST" else { return nil }
        switch request.route {
        case "/v1/messages/count_tokens":
            guard countsTokens else { return nil }
            guard let body = request.json else {
                return .error(status: 400, type: "invalid_request_error", message: "the body is not JSON")
            }
            return .json(["input_tokens": .int(ScriptedAPIRules.tokenCount(of: body))])
        case "/v1/messages":
            guard checksConversations, let body = request.json, let problem = ScriptedAPIRules.conversationError(in: body) else {
                return nil
            }
            return .error(status: 400, type: "invalid_request_error", message: problem, headers: [("x-should-retry", "false")])
        default:
            return nil
        }
    }
}
