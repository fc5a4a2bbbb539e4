import AgentMemoryJSON

/// A tool offered to Claude in a request's `tools` array, kept as its JSON object.
///
/// Client tools have `name`, `description` and `input_schema`; built-in tools such as the
/// memory tool have `type` and `name` only.
public struct ToolDefinition: Sendable, Hashable {
    /// The definition's JSON object.
    public var json: JSONObject

    /// Wraps a JSON object as a definition.
    public init(json: JSONObject) { self.json = json }

    /// A client tool with a JSON Schema for its input.
    public init(name: String, description: String, inputSchema: JSONValue) {
        json = ["name": .string(name), "description": .string(description), "input_schema": inputSchema]
    }

    /// A built-in tool declared by type, such as `{"type": "memory_20250818", "name": "memory"}`.
    public init(type: String, name: String) {
        json = ["type": .string(type), "name": .string(name)]
    }

    /// The tool's name.
    public var name: String { json["name"]?.stringValue ?? "" }

    /// The definition as JSON.
    public var jsonValue: JSONValue { .object(json) }

    /// The definition's `cache_control`; set it to add a prompt-caching breakpoint.
    public var cacheControl: JSONValue? {
        get { json["cache_control"] }
        set { json["cache_control"] = newValue }
    }
}
