/// Something that runs the tool calls of an assistant turn: the agent loop's only view of
/// tools (it never sees a store).
public protocol ToolExecutor: Sendable {
    /// The definitions to put in a request's `tools` array, in order.
    var toolDefinitions: [ToolDefinition] { get }

    /// Runs the calls and returns one `tool_result` block per call, in the same order and with
    /// the same ids. Never throws: failures become `is_error` results.
    func execute(_ toolUses: [ToolUse]) async -> [ContentBlock]
}

extension ToolExecutor {
    /// Runs the `tool_use` blocks of `message` and returns the user message that answers them.
    public func respond(to message: Message) async -> Message {
        Message(role: .user, content: await execute(message.toolUses))
    }
}
