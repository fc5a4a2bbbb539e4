import AgentMemoryJSON

/// Token counts of one response (or, added up, of several).
///
/// Fields the API adds later are kept in ``extraFields`` for the response they came with;
/// addition sums the four counts below only.
public struct Usage: Sendable, Hashable, CustomStringConvertible {
    /// Input tokens that were neither read from nor written to the prompt cache.
    public var inputTokens: Int
    /// Output tokens.
    public var outputTokens: Int
    /// Input tokens written to the prompt cache.
    public var cacheCreationInputTokens: Int
    /// Input tokens read from the prompt cache.
    public var cacheReadInputTokens: Int
    /// Other members of the `usage` object, kept as received.
    public var extraFields: JSONObject

    /// Creates counts; all zero by default.
    public init(inputTokens: Int = 0, outputTokens: Int = 0, cacheCreationInputTokens: Int = 0, cacheReadInputTokens: Int = 0) {
        self.inputTokens = inputTokens
        self.outputTokens = outputTokens
        self.cacheCreationInputTokens = cacheCreationInputTokens
        self.cacheReadInputTokens = cacheReadInputTokens
        extraFields = JSONObject()
    }

    /// No tokens.
    public static let zero = Usage()

    private static let knownKeys: Set<String> = [
        "input_tokens", "output_tokens", "cache_creation_input_tokens", "cache_read_input_tokens",
    ]

    /// Reads a `usage` object; missing or `null` counts are zero, other members are kept.
    public init(jsonValue: JSONValue) {
        self.init()
        guard let object = jsonValue.objectValue else { return }
        inputTokens = object["input_tokens"]?.intValue ?? 0
        outputTokens = object["output_tokens"]?.intValue ?? 0
        cacheCreationInputTokens = object["cache_creation_input_tokens"]?.intValue ?? 0
        cacheReadInputTokens = object["cache_read_input_tokens"]?.intValue ?? 0
        for (key, value) in object where !Self.knownKeys.contains(key) { extraFields[key] = value }
    }

    /// The counts as a `usage` object, followed by the kept extra members.
    public var jsonValue: JSONValue {
        var object: JSONObject = [
            "input_tokens": .int(inputTokens),
            "cache_creation_input_tokens": .int(cacheCreationInputTokens),
            "cache_read_input_tokens": .int(cacheReadInputTokens),
            "output_tokens": .int(outputTokens),
        ]
        for (key, value) in extraFields { object[key] = value }
        return .object(object)
    }

    /// All input tokens: uncached, cache writes and cache reads.
    public var totalInputTokens: Int { inputTokens + cacheCreationInputTokens + cacheReadInputTokens }

    /// Sums the four counts (extra fields are dropped: they have no general sum).
    public static func + (lhs: Usage, rhs: Usage) -> Usage {
        Usage(
            inputTokens: lhs.inputTokens + rhs.inputTokens,
            outputTokens: lhs.outputTokens + rhs.outputTokens,
            cacheCreationInputTokens: lhs.cacheCreationInputTokens + rhs.cacheCreationInputTokens,
            cacheReadInputTokens: lhs.cacheReadInputTokens + rhs.cacheReadInputTokens)
    }

    /// Adds `rhs` to `lhs`.
    public static func += (lhs: inout Usage, rhs: Usage) { lhs = lhs + rhs }

    /// A short summary such as `in 12 (cache write 0, read 100), out 34`.
    public var description: String {
        "in \(inputTokens) (cache write \(cacheCreationInputTokens), read \(cacheReadInputTokens)), out \(outputTokens)"
    }
}
