/// What a tool call produced: the text of its `tool_result` and whether it is an error.
public struct ToolOutcome: Sendable, Hashable {
    /// The text for the `tool_result`.
    public var text: String
    /// Whether the result is an error.
    public var isError: Bool

    /// Creates an outcome.
    public init(text: String, isError: Bool) {
        self.text = text
        self.isError = isError
    }

    /// A successful result.
    static func success(_ text: String) -> ToolOutcome { ToolOutcome(text: text, isError: false) }
    /// An `is_error` result.
    static func failure(_ text: String) -> ToolOutcome { ToolOutcome(text: text, isError: true) }
}
