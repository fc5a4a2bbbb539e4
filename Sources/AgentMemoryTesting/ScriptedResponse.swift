import AgentMemoryJSON
import ClaudeMessages

/// One answer of a ``ScriptedMessagesServer``: a JSON message, a server-sent event stream, an
/// HTTP error with retry headers, a malformed body, or a failure of the connection itself.
public struct ScriptedResponse: Sendable {
    enum Action: Sendable {
        /// A complete response with a `Content-Length` body.
        case respond(status: Int, headers: [(String, String)], body: [UInt8])
        /// A chunked event stream; with `cutAfter`, the connection closes after that many events.
        case stream(events: [ScriptedEvent], interval: Duration, cutAfter: Int?)
        /// Close the connection without answering.
        case drop
    }

    let action: Action
    /// How long the server waits before it starts answering.
    public var delay: Duration = .zero

    init(_ action: Action) { self.action = action }

    /// A copy that starts answering only after `delay` (to trigger client timeouts).
    public func delayed(by delay: Duration) -> ScriptedResponse {
        var copy = self
        copy.delay = delay
        return copy
    }

    /// `200` with the response's JSON.
    public static func message(_ response: MessageResponse, headers: [(String, String)] = []) -> ScriptedResponse {
        json(response.jsonValue, headers: headers)
    }

    /// `200` with exactly this JSON text as the body (for byte-for-byte tests).
    public static func message(jsonText: String, headers: [(String, String)] = []) -> ScriptedResponse {
        raw(status: 200, headers: [("content-type", "application/json")] + headers, body: Array(jsonText.utf8))
    }

    /// A JSON response.
    public static func json(_ value: JSONValue, status: Int = 200, headers: [(String, String)] = []) -> ScriptedResponse {
        raw(status: status, headers: [("content-type", "application/json")] + headers, body: Array(value.jsonString().utf8))
    }

    /// Any status, headers and body bytes (a malformed body, an HTML error page, ...).
    public static func raw(status: Int, headers: [(String, String)] = [], body: [UInt8]) -> ScriptedResponse {
        ScriptedResponse(.respond(status: status, headers: headers, body: body))
    }

    /// An API error: `{"type":"error","error":{"type":...,"message":...}}` with a `request-id`
    /// header, plus `headers` (such as `retry-after-ms` or `x-should-retry`).
    public static func error(
        status: Int, type: String, message: String, requestID: String = "req_scripted", headers: [(String, String)] = []
    ) -> ScriptedResponse {
        let body: JSONValue = ["type": "error", "error": ["type": .string(type), "message": .string(message)]]
        return json(body, status: status, headers: [("request-id", requestID)] + headers)
    }

    /// The response as a realistic event stream (see ``streamEvents(for:)``); with `cutAfter`,
    /// the connection closes after that many events, before `message_stop`.
    public static func stream(_ response: MessageResponse, cutAfter: Int? = nil, interval: Duration = .zero) -> ScriptedResponse {
        events(streamEvents(for: response), cutAfter: cutAfter, interval: interval)
    }

    /// These server-sent events, as a chunked `text/event-stream`.
    public static func events(_ events: [ScriptedEvent], cutAfter: Int? = nil, interval: Duration = .zero) -> ScriptedResponse {
        ScriptedResponse(.stream(events: events, interval: interval, cutAfter: cutAfter))
    }

    /// Closes the connection after reading the request, without answering.
    ///
    /// On a reused keep-alive connection some HTTP clients (libcurl among them) silently resend
    /// the request once on a new connection; script a second response for that case.
    public static let dropConnection = ScriptedResponse(.drop)

    /// The events the Messages API sends for `response`: `message_start` (empty content, no
    /// stop reason), a `ping`, for each block `content_block_start` (the block with its
    /// streamed fields empty), deltas (`text_delta`, `input_json_delta`, `thinking_delta`,
    /// `signature_delta`, `citations_delta`) and `content_block_stop`, then `message_delta` and
    /// `message_stop`. Assembling them gives `response` back, key order included.
    public static func streamEvents(for response: MessageResponse) -> [ScriptedEvent] {
        func event(_ name: String, _ data: JSONObject) -> ScriptedEvent {
            ScriptedEvent(event: name, data: JSONValue.object(data).jsonString())
        }
        var start = response.json
        start["content"] = .array([])
        if start["stop_reason"] != nil { start["stop_reason"] = .null }
        if start["stop_sequence"] != nil { start["stop_sequence"] = .null }
        let usage = start["usage"]?.objectValue ?? [:]
        var startUsage = usage
        if startUsage["output_tokens"] != nil { startUsage["output_tokens"] = 1 }
        if start["usage"] != nil { start["usage"] = .object(startUsage) }
        // Applied context edits come on `message_delta`; `message_start` holds the field empty.
        if start["context_management"] != nil { start["context_management"] = .null }
        var events = [event("message_start", ["type": "message_start", "message": .object(start)])]
        events.append(event("ping", ["type": "ping"]))
        for (index, block) in response.content.enumerated() {
            var opening = block.json
            var deltas: [JSONObject] = []
            if let citations = block.json["citations"]?.arrayValue, block.type == .text {
                opening["citations"] = .array([])
                deltas += citations.map { ["type": "citations_delta", "citation": $0] }
            }
            switch block.type {
            case .text:
                opening["text"] = ""
                deltas += pieces(block.json["text"]?.stringValue ?? "").map { ["type": "text_delta", "text": .string($0)] }
            case .thinking:
                opening["thinking"] = ""
                if opening["signature"] != nil { opening["signature"] = "" }
                deltas += pieces(block.json["thinking"]?.stringValue ?? "").map { ["type": "thinking_delta", "thinking": .string($0)] }
                if let signature = block.json["signature"]?.stringValue {
                    deltas.append(["type": "signature_delta", "signature": .string(signature)])
                }
            case "compaction":
                // The summary arrives in one `compaction_delta` (lib/streaming/_beta_messages.py in
                // the `anthropic` 2.14.0 Python package); the opening block has it empty.
                var delta: JSONObject = ["type": "compaction_delta"]
                for key in ["content", "encrypted_content"] where block.json[key] != nil {
                    opening[key] = .null
                    delta[key] = block.json[key]
                }
                deltas.append(delta)
            case .toolUse, .serverToolUse:
                opening["input"] = .object([:])
                let input = block.json["input"]?.jsonString() ?? "{}"
                deltas += pieces(input).map { ["type": "input_json_delta", "partial_json": .string($0)] }
            default:
                break  // sent whole in content_block_start, as the API does for other blocks
            }
            events.append(event("content_block_start", [
                "type": "content_block_start", "index": .int(index), "content_block": .object(opening),
            ]))
            for delta in deltas {
                events.append(event("content_block_delta", [
                    "type": "content_block_delta", "index": .int(index), "delta": .object(delta),
                ]))
            }
            events.append(event("content_block_stop", ["type": "content_block_stop", "index": .int(index)]))
        }
        var delta: JSONObject = [
            "stop_reason": response.json["stop_reason"] ?? .null,
            "stop_sequence": response.json["stop_sequence"] ?? .null,
        ]
        if response.json["stop_reason"] == nil { delta["stop_reason"] = nil }
        if response.json["stop_sequence"] == nil { delta["stop_sequence"] = nil }
        var messageDelta: JSONObject = ["type": "message_delta", "delta": .object(delta)]
        if let output = usage["output_tokens"] { messageDelta["usage"] = ["output_tokens": output] }
        if let context = response.json["context_management"] { messageDelta["context_management"] = context }
        events.append(event("message_delta", messageDelta))
        events.append(event("message_stop", ["type": "message_stop"]))
        return events
    }

    /// Splits text into up to three pieces (on character boundaries) so deltas really add up.
    private static func pieces(_ text: String) -> [String] {
        let characters = Array(text)
        guard characters.count > 2 else { return characters.isEmpty ? [] : [text] }
        let third = characters.count / 3
        return [String(characters[..<third]), String(characters[third..<(2 * third)]), String(characters[(2 * third)...])]
    }
}

/// One server-sent event, as the scripted server writes it.
public struct ScriptedEvent: Sendable, Hashable {
    /// The `event:` name.
    public var event: String
    /// The `data:` payload (one line).
    public var data: String

    /// Creates an event.
    public init(event: String, data: String) {
        self.event = event
        self.data = data
    }

    /// The wire form: `event: NAME\ndata: DATA\n\n`.
    public var wireBytes: [UInt8] { Array("event: \(event)\ndata: \(data)\n\n".utf8) }
}
