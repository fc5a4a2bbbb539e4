import AgentMemoryJSON

/// The `system` prompt of a request: a string, or text blocks (which can carry `cache_control`).
public enum SystemPrompt: Sendable, Hashable, ExpressibleByStringLiteral {
    /// A plain string.
    case text(String)
    /// Text blocks.
    case blocks([ContentBlock])

    /// A plain-string prompt from a literal.
    public init(stringLiteral value: String) { self = .text(value) }

    /// The prompt as JSON.
    public var jsonValue: JSONValue {
        switch self {
        case .text(let text): return .string(text)
        case .blocks(let blocks): return .array(blocks.map(\.jsonValue))
        }
    }

    /// The prompt as blocks, the last one with a `cache_control` breakpoint (ephemeral by default).
    public func withCacheControl(_ cacheControl: JSONValue = CacheControl.ephemeral) -> SystemPrompt {
        var blocks: [ContentBlock]
        switch self {
        case .text(let text): blocks = [.text(text)]
        case .blocks(let existing): blocks = existing
        }
        guard let last = blocks.popLast() else { return self }
        return .blocks(blocks + [last.withCacheControl(cacheControl)])
    }
}

/// How the model may use tools (`tool_choice`).
public struct ToolChoice: Sendable, Hashable {
    /// The kind of choice: an open set (`auto`, `any`, `tool`, `none`).
    public struct Kind: RawRepresentable, Sendable, Hashable {
        /// The API name.
        public let rawValue: String
        /// Creates a kind from its API name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The model decides whether to call tools.
        public static let auto = Kind(rawValue: "auto")
        /// The model must call some tool.
        public static let any = Kind(rawValue: "any")
        /// The model must call the named tool.
        public static let tool = Kind(rawValue: "tool")
        /// The model must not call tools.
        public static let none = Kind(rawValue: "none")
    }

    /// The kind of choice.
    public var kind: Kind
    /// The tool's name, for ``Kind/tool``.
    public var name: String?
    /// When true, the model calls at most one tool per turn.
    public var disableParallelToolUse: Bool?

    /// Creates a choice.
    public init(_ kind: Kind, name: String? = nil, disableParallelToolUse: Bool? = nil) {
        self.kind = kind
        self.name = name
        self.disableParallelToolUse = disableParallelToolUse
    }

    /// The model decides.
    public static let auto = ToolChoice(.auto)
    /// Some tool must be called.
    public static let any = ToolChoice(.any)
    /// No tool may be called.
    public static let none = ToolChoice(.none)
    /// The named tool must be called.
    public static func tool(_ name: String) -> ToolChoice { ToolChoice(.tool, name: name) }

    /// The choice as JSON.
    public var jsonValue: JSONValue {
        var object: JSONObject = ["type": .string(kind.rawValue)]
        if let name { object["name"] = .string(name) }
        if let disableParallelToolUse { object["disable_parallel_tool_use"] = .bool(disableParallelToolUse) }
        return .object(object)
    }
}

/// A request to `POST /v1/messages`.
///
/// Known fields are typed; ``extraFields`` carries any other field (and overrides a typed one
/// of the same name), so a new API parameter needs no new release.
public struct MessageRequest: Sendable, Hashable {
    /// The model name, such as `claude-sonnet-5-5` (the agent loop's `AgentConfiguration.defaultModel`).
    public var model: String
    /// The most tokens the response may have.
    public var maxTokens: Int
    /// The system prompt.
    public var system: SystemPrompt?
    /// The conversation so far, alternating user and assistant turns, ending with a user turn
    /// (or a paused assistant turn).
    public var messages: [Message]
    /// The tools offered.
    public var tools: [ToolDefinition]
    /// How the model may use tools.
    public var toolChoice: ToolChoice?
    /// Sampling temperature.
    public var temperature: Double?
    /// Texts that stop generation.
    public var stopSequences: [String]
    /// Request metadata, such as `{"user_id": ...}`.
    public var metadata: JSONObject?
    /// Extended thinking configuration, such as `{"type": "enabled", "budget_tokens": 2048}`.
    public var thinking: JSONValue?
    /// Whether the response is streamed as server-sent events (the client sets it).
    public var stream: Bool?
    /// Any further fields, written last.
    public var extraFields: JSONObject

    /// Creates a request.
    public init(
        model: String, maxTokens: Int, system: SystemPrompt? = nil, messages: [Message],
        tools: [ToolDefinition] = [], toolChoice: ToolChoice? = nil, temperature: Double? = nil,
        stopSequences: [String] = [], metadata: JSONObject? = nil, thinking: JSONValue? = nil,
        stream: Bool? = nil, extraFields: JSONObject = JSONObject()
    ) {
        self.model = model
        self.maxTokens = maxTokens
        self.system = system
        self.messages = messages
        self.tools = tools
        self.toolChoice = toolChoice
        self.temperature = temperature
        self.stopSequences = stopSequences
        self.metadata = metadata
        self.thinking = thinking
        self.stream = stream
        self.extraFields = extraFields
    }

    /// The request body as JSON; unset optional fields are left out.
    public var jsonValue: JSONValue {
        var object: JSONObject = ["model": .string(model), "max_tokens": .int(maxTokens)]
        if let system { object["system"] = system.jsonValue }
        object["messages"] = .array(messages.map(\.jsonValue))
        if !tools.isEmpty { object["tools"] = .array(tools.map(\.jsonValue)) }
        if let toolChoice { object["tool_choice"] = toolChoice.jsonValue }
        if let temperature { object["temperature"] = .double(temperature) }
        if !stopSequences.isEmpty { object["stop_sequences"] = .array(stopSequences.map(JSONValue.string)) }
        if let metadata { object["metadata"] = .object(metadata) }
        if let thinking { object["thinking"] = thinking }
        if let stream { object["stream"] = .bool(stream) }
        for (key, value) in extraFields { object[key] = value }
        return .object(object)
    }
}
