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
