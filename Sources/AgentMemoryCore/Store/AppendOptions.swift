import AgentMemoryJSON
import Foundation

/// How ``MemoryStore/append(_:value:in:options:)`` behaves.
public struct AppendOptions: Sendable, Hashable {
    /// Put between an existing non-empty string and an appended string (e.g. `"\n"`).
    public var separator: String
    /// Compare-and-set: the version the key must have now (`0`: must not exist), or `nil`.
    public var ifVersion: Int?
    /// The agent id recorded as the writer.
    public var author: String?

    /// Creates options; by default no separator, no condition and no author.
    public init(separator: String = "", ifVersion: Int? = nil, author: String? = nil) {
        self.separator = separator
        self.ifVersion = ifVersion
        self.author = author
    }

    /// The value after appending `value` to `current` (`nil`: the key does not exist).
    ///
    /// A missing key becomes a one-element array; an array gains an element; a string gains a
    /// string (after the separator when it is not empty). Anything else is an error that says
    /// what the key holds.
    public func appending(_ value: JSONValue, to current: JSONValue?, key: String) throws -> JSONValue {
        switch (current, value) {
        case (nil, _):
            return .array([value])
        case (.array(var elements)?, _):
            elements.append(value)
            return .array(elements)
        case (.string(let text)?, .string(let addition)):
            return .string(text.isEmpty ? addition : text + separator + addition)
        case (.string?, _):
            throw MemoryError(.invalidArgument, "Cannot append a \(value.typeName) to key \"\(key.truncatedForMessage)\": it holds a string, and only a string can be appended to a string")
        case (let other?, _):
            throw MemoryError(.invalidArgument, "Cannot append to key \"\(key.truncatedForMessage)\": it holds \(other.typeName == "integer" ? "an" : "a") \(other.typeName); append works on arrays and strings")
        }
    }
}
