import ClaudeMessages
import AgentMemoryJSON

/// What a streamed call reports to its caller as the response arrives.
public enum MessageStreamEvent: Sendable, Hashable {
    /// Text appended to the text block at `index`.
    case textDelta(index: Int, text: String)
    /// Thinking appended to the thinking block at `index`.
    case thinkingDelta(index: Int, thinking: String)
    /// A piece of a tool call's JSON input for the block at `index` (not parseable on its own).
    case inputJSONDelta(index: Int, partialJSON: String)
    /// The block at `index` is complete (a tool call's input is parsed by now).
    case contentBlockCompleted(index: Int, block: ContentBlock)
}

/// Assembles the events of a Messages API stream into the ``MessageResponse`` a non-streamed
/// call returns: text, thinking and signature deltas appended, citations collected, tool
/// inputs parsed from their accumulated JSON, compaction summaries filled in, `message_delta`
/// merged (with its `context_management`), unknown events ignored.
public struct MessageStreamAccumulator: Sendable {
    private var message: JSONObject?
    private var blocks: [Int: JSONObject] = [:]
    private var partialJSON: [Int: String] = [:]
    /// Whether `message_stop` has arrived.
    public private(set) var isComplete = false

    /// Creates an empty accumulator.
    public init() {}

    /// Applies one event; returns what to report to the caller. Throws ``ClaudeAPIError`` for
    /// an `error` event or an event whose data is not what the API sends.
    public mutating func apply(_ event: ServerSentEvent) throws -> [MessageStreamEvent] {
        switch event.event {
        case "message_start", "content_block_start", "content_block_delta", "content_block_stop",
             "message_delta", "message_stop", "error":
            break
        default:
            return []  // `ping` and events this library does not know
        }
        let data: JSONObject
        do {
            guard let object = try JSONValue(parsing: event.data).objectValue else { throw MessageDecodingError("not an object") }
            data = object
        } catch {
            throw ClaudeAPIError(.invalidResponse, "the \(event.event) event's data is not a JSON object: \(excerpt(event.data))")
        }
        switch event.event {
        case "message_start":
            guard let start = data["message"]?.objectValue else { throw malformed(event) }
            message = start
            return []
        case "content_block_start":
            guard let index = data["index"]?.intValue, let block = data["content_block"]?.objectValue else { throw malformed(event) }
            blocks[index] = block
            return []
        case "content_block_delta":
            guard let index = data["index"]?.intValue, let delta = data["delta"]?.objectValue, var block = blocks[index] else {
                throw malformed(event)
            }
            var report: [MessageStreamEvent] = []
            switch delta["type"]?.stringValue {
            case "text_delta":
                let text = delta["text"]?.stringValue ?? ""
                block["text"] = .string((block["text"]?.stringValue ?? "") + text)
                report.append(.textDelta(index: index, text: text))
            case "input_json_delta":
                let piece = delta["partial_json"]?.stringValue ?? ""
                partialJSON[index, default: ""] += piece
                report.append(.inputJSONDelta(index: index, partialJSON: piece))
            case "thinking_delta":
                let thinking = delta["thinking"]?.stringValue ?? ""
                block["thinking"] = .string((block["thinking"]?.stringValue ?? "") + thinking)
                report.append(.thinkingDelta(index: index, thinking: thinking))
            case "signature_delta":
                block["signature"] = .string((block["signature"]?.stringValue ?? "") + (delta["signature"]?.stringValue ?? ""))
            case "compaction_delta":
                // The delta carries the whole summary: it replaces the block's fields
                // (lib/streaming/_beta_messages.py in the `anthropic` 2.14.0 Python package).
                for key in ["content", "encrypted_content"] where delta[key] != nil { block[key] = delta[key] }
            case "citations_delta":
                if let citation = delta["citation"] {
                    block["citations"] = .array((block["citations"]?.arrayValue ?? []) + [citation])
                }
            default:
                break  // a delta type this library does not know
            }
            blocks[index] = block
            return report
        case "content_block_stop":
            guard let index = data["index"]?.intValue, var block = blocks[index] else { throw malformed(event) }
            if let json = partialJSON.removeValue(forKey: index) {
                if json.isEmpty {
                    block["input"] = .object([:])
                } else {
                    do {
                        block["input"] = try JSONValue(parsing: json)
                    } catch {
                        throw ClaudeAPIError(.invalidResponse, "the streamed input of block \(index) is not JSON (\(error)): \(excerpt(json))")
                    }
                }
                blocks[index] = block
            }
            return [.contentBlockCompleted(index: index, block: ContentBlock(json: block))]
        case "message_delta":
            guard message != nil else { throw malformed(event) }
            for (key, value) in data["delta"]?.objectValue ?? [:] { message?[key] = value }
            // Context management reports its applied edits on `message_delta`, beside `delta`
            // (lib/streaming/_beta_messages.py in the `anthropic` 2.14.0 Python package).
            if let context = data["context_management"], !context.isNull { message?["context_management"] = context }
            if let usage = data["usage"]?.objectValue {
                var merged = message?["usage"]?.objectValue ?? [:]
                for (key, value) in usage where !value.isNull { merged[key] = value }
                message?["usage"] = .object(merged)
            }
            return []
        case "message_stop":
            isComplete = true
            return []
        default:  // "error"
            let error = data["error"]?.objectValue
            throw ClaudeAPIError(
                .api, errorType: error?["type"]?.stringValue,
                error?["message"]?.stringValue ?? "the stream reported an error: \(excerpt(event.data))",
                requestID: data["request_id"]?.stringValue)
        }
    }

    /// The assembled response; throws ``ClaudeAPIError/Kind/streamInterrupted`` before `message_stop`.
    public func response() throws -> MessageResponse {
        guard isComplete, var message else {
            throw ClaudeAPIError(.streamInterrupted, "the stream ended before message_stop")
        }
        let existing = message["content"]?.arrayValue ?? []
        let streamed = blocks.keys.sorted().map { JSONValue.object(blocks[$0]!) }
        message["content"] = .array(existing + streamed)
        do {
            return try MessageResponse(jsonValue: .object(message))
        } catch {
            throw ClaudeAPIError(.invalidResponse, "the streamed message is not a message: \(error)")
        }
    }

    private func malformed(_ event: ServerSentEvent) -> ClaudeAPIError {
        ClaudeAPIError(.invalidResponse, "unexpected \(event.event) event: \(excerpt(event.data))")
    }
}

/// The first 200 bytes of `text`, for error messages.
func excerpt(_ text: String, limit: Int = 200) -> String {
    let bytes = Array(text.utf8)
    if bytes.count <= limit { return text }
    return String(decoding: bytes[..<limit], as: UTF8.self) + "…"
}
