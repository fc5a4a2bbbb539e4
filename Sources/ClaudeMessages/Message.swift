import AgentMemoryJSON

/// Who wrote a message: an open set (`user`, `assistant`).
public struct Role: RawRepresentable, Sendable, Hashable, ExpressibleByStringLiteral, CustomStringConvertible {
    /// The API name.
    public let rawValue: String
    /// Creates a role from its API name.
    public init(rawValue: String) { self.rawValue = rawValue }
    /// Creates a role from a literal API name.
    public init(stringLiteral value: String) { rawValue = value }
    /// The API name.
    public var description: String { rawValue }

    /// The user (and tool results).
    public static let user: Role = "user"
    /// The model.
    public static let assistant: Role = "assistant"
}

/// One turn of a conversation, kept exactly as sent or received.
public struct Message: Sendable, Hashable {
    /// Who wrote it.
    public var role: Role
    /// The content: a plain string or a list of blocks, as it was given.
    public var content: MessageContent
    /// Fields of the message other than `role` and `content`, kept to be sent back.
    public var extraFields: JSONObject

    /// Creates a message with block content.
    public init(role: Role, content: [ContentBlock]) {
        self.role = role
        self.content = .blocks(content)
        self.extraFields = JSONObject()
    }

    /// Creates a message with plain text content.
    public init(role: Role, text: String) {
        self.role = role
        self.content = .text(text)
        self.extraFields = JSONObject()
    }

    /// A user message with plain text.
    public static func user(_ text: String) -> Message { Message(role: .user, text: text) }

    /// The content as blocks (plain text becomes one text block).
    public var blocks: [ContentBlock] {
        switch content {
        case .text(let text): return [.text(text)]
        case .blocks(let blocks): return blocks
        }
    }

    /// The tool calls in this message, in order.
    public var toolUses: [ToolUse] { blocks.compactMap(\.toolUse) }

    /// The text blocks joined together.
    public var text: String { blocks.filter { $0.type == .text }.compactMap(\.text).joined() }

    /// Reads a message (`{"role": ..., "content": ...}`) from JSON.
    public init(jsonValue: JSONValue) throws {
        guard var object = jsonValue.objectValue else {
            throw MessageDecodingError("a message must be a JSON object, got \(jsonValue.typeName)")
        }
        guard let role = object["role"]?.stringValue else { throw MessageDecodingError("a message needs a string \"role\"") }
        guard let content = object["content"] else { throw MessageDecodingError("a message needs \"content\"") }
        self.role = Role(rawValue: role)
        self.content = try MessageContent(jsonValue: content)
        object["role"] = nil
        object["content"] = nil
        extraFields = object
    }

    /// The message as JSON: `role`, `content`, then any extra fields.
    public var jsonValue: JSONValue {
        var object: JSONObject = ["role": .string(role.rawValue), "content": content.jsonValue]
        for (key, value) in extraFields { object[key] = value }
        return .object(object)
    }
}

/// A message's content: a string or a list of blocks.
public enum MessageContent: Sendable, Hashable {
    /// Plain text.
    case text(String)
    /// Content blocks.
    case blocks([ContentBlock])

    /// Reads content from a JSON string or array of block objects.
    public init(jsonValue: JSONValue) throws {
        switch jsonValue {
        case .string(let text): self = .text(text)
        case .array(let elements): self = .blocks(try elements.map(ContentBlock.init(jsonValue:)))
        default: throw MessageDecodingError("message content must be a string or an array of blocks, got \(jsonValue.typeName)")
        }
    }

    /// The content as JSON.
    public var jsonValue: JSONValue {
        switch self {
        case .text(let text): return .string(text)
        case .blocks(let blocks): return .array(blocks.map(\.jsonValue))
        }
    }
}
