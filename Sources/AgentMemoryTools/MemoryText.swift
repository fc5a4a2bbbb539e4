import AgentMemoryJSON
import AgentMemoryCore
import Foundation

/// How values are shown in tool results and by the CLI.
public enum MemoryText {
    /// The text `recall` returns: a string exactly, anything else as compact JSON.
    public static func text(of value: JSONValue) -> String {
        if case .string(let text) = value { return text }
        return value.jsonString()
    }

    /// A one-line preview of a value, at most 80 characters and an ellipsis.
    public static func preview(of value: JSONValue) -> String {
        singleLine(text(of: value), limit: 80)
    }

    /// `text` on one line (line breaks and tabs become spaces), cut at `limit` characters.
    public static func singleLine(_ text: String, limit: Int) -> String {
        var line = text.replacingOccurrences(of: "\r\n", with: " ").replacingOccurrences(of: "\n", with: " ")
            .replacingOccurrences(of: "\t", with: " ")
        if line.count > limit { line = String(line.prefix(limit)) + "…" }
        return line
    }
}
