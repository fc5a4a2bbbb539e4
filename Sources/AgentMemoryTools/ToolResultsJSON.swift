import AgentMemoryJSON
import ClaudeMessages

/// The user message that answers a turn's tool calls, written straight to compact JSON bytes.
///
/// The bytes are those of `Message(role: .user, content: blocks).jsonValue.jsonBytes()` for
/// the `tool_result` blocks of ``MemoryToolExecutor/execute(blocks:)``, but written without
/// building the blocks, the message or its ``JSONValue``: for `agent-memory exec` of 2,000
/// `recall` calls that tree and its writing were about a fifth of the process.
public enum ToolResultsJSON {
    /// The message for `toolUses` and their `outcomes` (one each, in the same order), into room
    /// for `capacity` bytes; a trailing newline when `newline` is set.
    public static func message(for toolUses: [ToolUse], outcomes: [ToolOutcome], capacity: Int, newline: Bool = false) -> [UInt8] {
        precondition(toolUses.count == outcomes.count, "one outcome per tool call")
        var writer = JSONBytesWriter(capacity: capacity)
        writer.raw(#"{"role":"user","content":["#)
        for index in toolUses.indices {
            if index > 0 { writer.byte(UInt8(ascii: ",")) }
            writer.raw(#"{"type":"tool_result","tool_use_id":"#)
            writer.string(toolUses[index].id)
            writer.raw(#","content":"#)
            writer.string(outcomes[index].text)
            writer.raw(outcomes[index].isError ? #","is_error":true}"# : "}")
        }
        writer.raw("]}")
        if newline { writer.byte(0x0A) }
        return writer.bytes
    }
}
