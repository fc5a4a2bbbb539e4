import AgentMemoryJSON

/// The type of a content block: an open set, so block types added to the API later are kept
/// (and sent back) rather than rejected.
public struct BlockType: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The `type` string as the API writes it.
    public let rawValue: String
    /// Creates a block type from its API name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Creates a block type from a literal API name.
    public init(stringLiteral value: String) { rawValue = value }
    /// The API name.
    public var description: String { rawValue }

    /// Text written by the model or the user.
    public static let text: BlockType = "text"
    /// A client tool call from the model.
    public static let toolUse: BlockType = "tool_use"
    /// The result of a client tool call, sent back by the user turn.
    public static let toolResult: BlockType = "tool_result"
    /// Extended thinking, with a signature that must be sent back unchanged.
    public static let thinking: BlockType = "thinking"
    /// Encrypted thinking, sent back unchanged.
    public static let redactedThinking: BlockType = "redacted_thinking"
    /// An image.
    public static let image: BlockType = "image"
    /// A document (PDF or text).
    public static let document: BlockType = "document"
    /// A call of a server-side tool (web search, code execution).
    public static let serverToolUse: BlockType = "server_tool_use"
    /// The result of a server-side web search.
    public static let webSearchToolResult: BlockType = "web_search_tool_result"
}

/// One content block of a message, kept exactly as received.
///
/// A block is its JSON object: every field, known or not, and the order of the fields, is
/// kept, so a block the model sent (a thinking block's signature, a block type this library
/// does not know yet) goes back to the API unchanged. Typed accessors read the known fields.
public struct ContentBlock: Sendable, Hashable {
    /// The block's JSON object, as received or built.
    public var json: JSONObject

    /// Wraps a JSON object as a block.
    public init(json: JSONObject) {
        self.json = json
    }

    /// Reads a block from JSON; throws unless it is an object with a string `type`.
    public init(jsonValue: JSONValue) throws {
        guard let object = jsonValue.objectValue else {
            throw MessageDecodingError("a content block must be a JSON object, got \(jsonValue.typeName)")
        }
        guard object["type"]?.stringValue != nil else {
            throw MessageDecodingError("a content block needs a string \"type\"")
        }
        json = object
    }

    /// The block's type.
    public var type: BlockType { BlockType(rawValue: json["type"]?.stringValue ?? "") }

    /// The block as a JSON value.
    public var jsonValue: JSONValue { .object(json) }

    /// The text of a `text` block (or a `thinking` block's `thinking`), else `nil`.
    public var text: String? {
        switch type {
        case .text: return json["text"]?.stringValue
        case .thinking: return json["thinking"]?.stringValue
        default: return nil
        }
    }

    /// The call in a `tool_use` block, else `nil`.
    public var toolUse: ToolUse? {
        guard type == .toolUse, let id = json["id"]?.stringValue, let name = json["name"]?.stringValue else { return nil }
        return ToolUse(id: id, name: name, input: json["input"] ?? .object([:]))
    }

    /// The result in a `tool_result` block, else `nil`.
    public var toolResult: ToolResult? {
        guard type == .toolResult, let id = json["tool_use_id"]?.stringValue else { return nil }
        return ToolResult(json: json, toolUseID: id)
    }

    /// A `text` block.
    public static func text(_ text: String) -> ContentBlock {
        ContentBlock(json: ["type": "text", "text": .string(text)])
    }

    /// A `tool_use` block.
    public static func toolUse(id: String, name: String, input: JSONValue) -> ContentBlock {
        ContentBlock(json: ["type": "tool_use", "id": .string(id), "name": .string(name), "input": input])
    }

    /// A `tool_result` block with text content; `is_error` is written only when true.
    public static func toolResult(toolUseID: String, content: String, isError: Bool = false) -> ContentBlock {
        var json: JSONObject = ["type": "tool_result", "tool_use_id": .string(toolUseID), "content": .string(content)]
        if isError { json["is_error"] = true }
        return ContentBlock(json: json)
    }

    /// A `tool_result` block whose content is a list of blocks (text, images, documents).
    public static func toolResult(toolUseID: String, blocks: [ContentBlock], isError: Bool = false) -> ContentBlock {
        var json: JSONObject = ["type": "tool_result", "tool_use_id": .string(toolUseID), "content": .array(blocks.map(\.jsonValue))]
        if isError { json["is_error"] = true }
        return ContentBlock(json: json)
    }

    /// The block's `cache_control`, if any; set it to add or remove a prompt-caching breakpoint.
    public var cacheControl: JSONValue? {
        get { json["cache_control"] }
        set { json["cache_control"] = newValue }
    }
}

/// A tool call the model asked for.
public struct ToolUse: Sendable, Hashable {
    /// The id that the result must carry as `tool_use_id`.
    public var id: String
    /// The tool's name.
    public var name: String
    /// The arguments, as the model wrote them (normally an object).
    public var input: JSONValue

    /// Creates a call.
    public init(id: String, name: String, input: JSONValue) {
        self.id = id
        self.name = name
        self.input = input
    }
}

/// The result of a tool call, as found in a `tool_result` block.
public struct ToolResult: Sendable, Hashable {
    /// The block's JSON.
    public var json: JSONObject
    /// The id of the call this answers.
    public var toolUseID: String

    /// Whether the result reports an error.
    public var isError: Bool { json["is_error"]?.boolValue ?? false }

    /// The text of the result: a string content as it is, or the text blocks joined by newlines.
    public var text: String {
        switch json["content"] {
        case .string(let text)?: return text
        case .array(let blocks)?:
            return blocks.compactMap { $0.objectValue?["text"]?.stringValue }.joined(separator: "\n")
        default: return ""
        }
    }
}

/// A message or block that does not have the shape the Messages API gives it.
public struct MessageDecodingError: Error, Sendable, Hashable, CustomStringConvertible {
    /// What is wrong.
    public let message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    /// What is wrong.
    public var description: String { message }
}
