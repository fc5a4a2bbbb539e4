import AgentMemoryJSON
import Foundation

/// One entry of a namespace's change log: who changed which key, how, and when.
///
/// Sequence numbers start at 1 in each namespace and increase by one per change, in the
/// order the changes were committed, so a reader that asks for the changes after the last
/// sequence it saw never misses one (while the log retains it).
public struct MemoryChange: Sendable, Hashable {
    /// What a change did: an open set.
    public struct Operation: RawRepresentable, Sendable, Hashable, CustomStringConvertible {
        /// The operation's name.
        public let rawValue: String
        /// Creates an operation from its name.
        public init(rawValue: String) { self.rawValue = rawValue }
        /// The name.
        public var description: String { rawValue }

        /// A key was created or replaced.
        public static let put = Operation(rawValue: "put")
        /// A value was appended to a key.
        public static let append = Operation(rawValue: "append")
        /// A key was deleted.
        public static let delete = Operation(rawValue: "delete")
    }

    /// The position in the namespace's log (1, 2, 3, ... in commit order).
    public var sequence: Int64
    /// The key changed.
    public var key: String
    /// What happened.
    public var operation: Operation
    /// The record's version after a put or append; the deleted version for a delete.
    public var version: Int
    /// The agent id of the writer, if the host gave one.
    public var author: String?
    /// When the change was committed (the store's clock).
    public var time: Date

    /// Creates a change.
    public init(sequence: Int64, key: String, operation: Operation, version: Int, author: String?, time: Date) {
        self.sequence = sequence
        self.key = key
        self.operation = operation
        self.version = version
        self.author = author
        self.time = time
    }

    /// The change as a JSON object (`sequence`, `key`, `operation`, `version`, `author`, `time`).
    public var jsonObject: JSONValue {
        [
            "sequence": .int(Int(sequence)),
            "key": .string(key),
            "operation": .string(operation.rawValue),
            "version": .int(version),
            "author": author.map(JSONValue.string) ?? .null,
            "time": .string(MemoryRecord.formatDate(time)),
        ]
    }
}

/// How long a store keeps its change log.
public struct ChangeLogRetention: Sendable, Hashable {
    /// Entries older than this are dropped; `nil` keeps them regardless of age.
    public var maxAge: Duration?
    /// At most this many of the newest entries are kept per namespace; `nil` for no limit.
    public var maxEntriesPerNamespace: Int?

    /// Creates a retention policy.
    public init(maxAge: Duration? = .seconds(30 * 86_400), maxEntriesPerNamespace: Int? = 1_000_000) {
        self.maxAge = maxAge
        self.maxEntriesPerNamespace = maxEntriesPerNamespace
    }

    /// The default: 30 days, and at most 1,000,000 entries per namespace.
    public static let `default` = ChangeLogRetention()

    /// Keep everything.
    public static let forever = ChangeLogRetention(maxAge: nil, maxEntriesPerNamespace: nil)

    /// The oldest time kept at `now`, or `nil` when age does not matter.
    public func cutoff(at now: Date) -> Date? {
        guard let maxAge else { return nil }
        let (seconds, attoseconds) = maxAge.components
        return now.addingTimeInterval(-(Double(seconds) + Double(attoseconds) / 1e18))
    }
}

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
