import AgentMemoryJSON

/// A Messages API response (`"type": "message"`), kept as the JSON object received.
///
/// Like ``ContentBlock``, the response is its JSON: fields this library does not know are
/// kept, and the content blocks go back to the API unchanged through ``message``. A streamed
/// call assembles the same object as a non-streamed one.
public struct MessageResponse: Sendable, Hashable {
    /// The response's JSON object, as received (or assembled from a stream).
    public var json: JSONObject

    /// Reads a response; throws unless it is an object with a `content` array of blocks.
    public init(jsonValue: JSONValue) throws {
        guard let object = jsonValue.objectValue else {
            throw MessageDecodingError("a message response must be a JSON object, got \(jsonValue.typeName)")
        }
        guard let content = object["content"]?.arrayValue else {
            throw MessageDecodingError("a message response needs a \"content\" array")
        }
        for block in content { _ = try ContentBlock(jsonValue: block) }
        json = object
    }

    /// Builds a response from its parts (used by tests and scripted servers).
    public init(
        id: String, model: String, content: [ContentBlock], stopReason: StopReason?,
        stopSequence: String? = nil, usage: Usage = .zero
    ) {
        json = [
            "id": .string(id), "type": "message", "role": "assistant", "model": .string(model),
            "content": .array(content.map(\.jsonValue)),
            "stop_reason": stopReason.map { .string($0.rawValue) } ?? .null,
            "stop_sequence": stopSequence.map { .string($0) } ?? .null,
            "usage": usage.jsonValue,
        ]
    }

    /// The message id (`msg_...`).
    public var id: String { json["id"]?.stringValue ?? "" }
    /// The object type, `message`.
    public var type: String { json["type"]?.stringValue ?? "" }
    /// The role, `assistant`.
    public var role: Role { Role(rawValue: json["role"]?.stringValue ?? "assistant") }
    /// The model that answered.
    public var model: String { json["model"]?.stringValue ?? "" }
    /// The content blocks, exactly as received.
    public var content: [ContentBlock] {
        (json["content"]?.arrayValue ?? []).compactMap { $0.objectValue.map(ContentBlock.init(json:)) }
    }
    /// Why the model stopped, or `nil` when the API gave none.
    public var stopReason: StopReason? { json["stop_reason"]?.stringValue.map(StopReason.init(rawValue:)) }
    /// The stop sequence that was written, when ``stopReason`` is `stop_sequence`.
    public var stopSequence: String? { json["stop_sequence"]?.stringValue }
    /// The token counts.
    public var usage: Usage { Usage(jsonValue: json["usage"] ?? .null) }
    /// Members other than the ones above, as received.
    public var extraFields: JSONObject {
        let known: Set<String> = ["id", "type", "role", "model", "content", "stop_reason", "stop_sequence", "usage"]
        return JSONObject(json.members.filter { !known.contains($0.key) }.map { ($0.key, $0.value) })
    }

    /// The assistant turn to append to the conversation: the role and the content blocks
    /// exactly as received.
    public var message: Message { Message(role: role, content: content) }

    /// The tool calls of this turn, in order.
    public var toolUses: [ToolUse] { content.compactMap(\.toolUse) }

    /// The text blocks joined together.
    public var text: String { content.filter { $0.type == .text }.compactMap(\.text).joined() }

    /// The response as JSON, as received.
    public var jsonValue: JSONValue { .object(json) }
}
