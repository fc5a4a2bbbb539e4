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
    /// A CR LF pair becomes one space; a lone CR stays.
    ///
    /// Done on the UTF-8 bytes (the three characters are ASCII, which UTF-8 never uses inside
    /// another character's bytes): Foundation's `replacingOccurrences`, three calls through
    /// `NSString` here, took about 165,000 instructions a preview, more than half of an
    /// `agent-memory list` process (BENCHMARKS.md, round forty-six).
    public static func singleLine(_ text: String, limit: Int) -> String {
        var line = text
        if text.utf8.contains(where: { $0 == 0x0A || $0 == 0x09 }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(text.utf8.count)
            var pendingReturn = false
            for byte in text.utf8 {
                if pendingReturn {
                    pendingReturn = false
                    if byte == 0x0A {
                        bytes.append(0x20)
                        continue
                    }
                    bytes.append(0x0D)
                }
                switch byte {
                case 0x0D: pendingReturn = true
                case 0x0A, 0x09: bytes.append(0x20)
                default: bytes.append(byte)
                }
            }
            if pendingReturn { bytes.append(0x0D) }
            line = String(decoding: bytes, as: UTF8.self)
        }
        if line.count > limit { line = String(line.prefix(limit)) + "…" }
        return line
    }
}
