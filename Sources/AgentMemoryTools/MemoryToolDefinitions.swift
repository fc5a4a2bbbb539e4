import AgentMemoryJSON
import AgentMemoryCore
import ClaudeMessages

/// The JSON definitions of the memory tools, as sent in a request's `tools` array.
///
/// The descriptions are written for Claude: when to use the tool, what comes back and what to
/// do next. They are built once; `tool-schemas/` holds the same JSON, and a test fails when the
/// two differ.
public enum MemoryToolDefinitions {
    /// The definition of one tool.
    public static func definition(for tool: MemoryToolKind) -> ToolDefinition {
        switch tool {
        case .remember: return remember
        case .recall: return recall
        case .listMemory: return listMemory
        case .forget: return forget
        case .searchMemory: return searchMemory
        case .memory: return BuiltinMemoryTool.definition
        }
    }

    /// The definitions of `tools`, in order.
    public static func definitions(for tools: [MemoryToolKind]) -> [ToolDefinition] {
        tools.map(definition(for:))
    }

    /// Most seconds a TTL may be: 100 years.
    public static let maximumTTLSeconds = 3_153_600_000
    /// The default page size of `list_memory`.
    public static let defaultListLimit = 50
    /// The default number of `search_memory` results.
    public static let defaultSearchLimit = 10

    private static func schema(_ properties: JSONObject, required: [String]) -> JSONValue {
        [
            "type": "object",
            "properties": .object(properties),
            "required": .array(required.map(JSONValue.string)),
            "additionalProperties": false,
        ]
    }

    /// `remember {key, value, mode?, ttl_seconds?}`.
    public static let remember = ToolDefinition(
        name: "remember",
        description: """
            Save information to persistent memory under a key, so that it is still available in later \
            conversations, after restarts, and to other agents sharing this memory. Use it for anything worth \
            keeping: the user's preferences and facts about them, decisions, project details, progress on a \
            long task. Writing to a key that exists replaces its value; with mode "append" the value is \
            added to the end instead (to a list, or as a new line of text), which is how to add to a shared \
            list without overwriting what other agents added. Choose short, descriptive, dot-separated keys \
            such as "user.preferences.language" or "project.acme.deadline", and reuse a key to update it \
            rather than creating near-duplicates. Give ttl_seconds for information that goes stale. Returns \
            a one-line confirmation with the key's new version, and says so when another agent changed the \
            key since you last read it.
            """,
        inputSchema: schema([
            "key": [
                "type": "string",
                "description": "The key to store under (1 to 512 bytes, no control characters), e.g. \"user.name\".",
            ],
            "value": [
                "type": "string",
                "description": "The text to remember. To store structured data, write it as JSON text.",
            ],
            "mode": [
                "type": "string",
                "enum": ["replace", "append"],
                "description": "\"replace\" (the default) overwrites the value; \"append\" adds the value as a new item of a list (a missing key becomes a one-item list) or as a new line of existing text.",
            ],
            "ttl_seconds": [
                "type": "integer",
                "minimum": 1,
                "maximum": .int(maximumTTLSeconds),
                "description": "Optional time to live in seconds; the memory disappears after it. Omit to keep it until forgotten.",
            ],
        ], required: ["key", "value"]))

    /// `recall {key}`.
    public static let recall = ToolDefinition(
        name: "recall",
        description: """
            Read what persistent memory holds under an exact key. Check memory this way before answering \
            whenever something may have been remembered earlier (preferences, facts, task progress). Returns \
            the stored text exactly as it was saved. If nothing is stored under the key, the result says so \
            and suggests up to five similar keys that exist; use list_memory to browse the keys.
            """,
        inputSchema: schema([
            "key": ["type": "string", "description": "The exact key to read, e.g. \"user.name\"."],
        ], required: ["key"]))

    /// `list_memory {prefix?, cursor?, limit?}`.
    public static let listMemory = ToolDefinition(
        name: "list_memory",
        description: """
            List the keys in persistent memory in alphabetical order, one per line as "key: preview of the \
            value". Use it at the start of a task to see what is remembered, or with a prefix such as "user." \
            to see one group of keys. Returns at most `limit` keys (default 50); when more remain, the last \
            line gives a cursor to pass back to get the next page. Use recall to read a full value.
            """,
        inputSchema: schema([
            "prefix": ["type": "string", "description": "Only list keys that start with this text."],
            "cursor": ["type": "string", "description": "The cursor from the previous page's last line, to continue listing."],
            "limit": [
                "type": "integer", "minimum": 1, "maximum": 100,
                "description": "How many keys to return (1 to 100, default 50).",
            ],
        ], required: []))

    /// `forget {key}`.
    public static let forget = ToolDefinition(
        name: "forget",
        description: """
            Delete the memory stored under an exact key, when it is wrong or outdated or the user asks you \
            to forget it. Returns a confirmation, or says that nothing was stored under the key.
            """,
        inputSchema: schema([
            "key": ["type": "string", "description": "The exact key to delete."],
        ], required: ["key"]))

    /// `search_memory {query, limit?}`.
    public static let searchMemory = ToolDefinition(
        name: "search_memory",
        description: """
            Search persistent memory by words when you do not know the exact key. Matches words in keys and \
            values (word forms such as plurals match too) and returns the best matches first, one per line as \
            "key: excerpt" with the matching words in [brackets]. Then call recall with a key to read its \
            full value.
            """,
        inputSchema: schema([
            "query": ["type": "string", "description": "Words to look for, e.g. \"favorite programming language\"."],
            "limit": [
                "type": "integer", "minimum": 1, "maximum": 50,
                "description": "How many matches to return (1 to 50, default 10).",
            ],
        ], required: ["query"]))
}
