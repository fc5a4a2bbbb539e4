import AgentMemoryJSON
import Foundation

/// The version, author and times of a record, without its value.
public struct RecordStamp: Sendable, Hashable {
    /// The record's version.
    public var version: Int
    /// When the key was first written.
    public var createdAt: Date
    /// When the key was last written.
    public var updatedAt: Date
    /// The agent id of the last writer.
    public var author: String?
    /// When the record stops being visible.
    public var expiresAt: Date?

    /// Creates a stamp.
    public init(version: Int, createdAt: Date, updatedAt: Date, author: String?, expiresAt: Date?) {
        self.version = version
        self.createdAt = createdAt
        self.updatedAt = updatedAt
        self.author = author
        self.expiresAt = expiresAt
    }

    /// The stamp of `record`.
    public init(_ record: MemoryRecord) {
        self.init(
            version: record.version, createdAt: record.createdAt, updatedAt: record.updatedAt, author: record.author,
            expiresAt: record.expiresAt)
    }

    /// Whether the record has expired at `date`.
    public func isExpired(at date: Date) -> Bool {
        guard let expiresAt else { return false }
        return expiresAt <= date
    }
}

/// The row a backend holds for a key when a write begins, expired or not.
public struct CurrentRow: Sendable {
    /// Version, author and times.
    public var stamp: RecordStamp
    /// What the row counts against a namespace's byte quota (key bytes plus value bytes).
    public var size: Int
    private let storedValue: StoredValue

    private enum StoredValue: Sendable {
        case parsed(JSONValue)
        case text(String)
    }

    /// A row whose value is already a ``JSONValue`` (the in-memory store).
    public init(stamp: RecordStamp, size: Int, value: JSONValue) {
        self.stamp = stamp
        self.size = size
        self.storedValue = .parsed(value)
    }

    /// A row whose value is JSON text, parsed only when an append needs it (the SQL stores).
    public init(stamp: RecordStamp, size: Int, json: String) {
        self.stamp = stamp
        self.size = size
        self.storedValue = .text(json)
    }

    /// The row's value.
    public func value() throws -> JSONValue {
        switch storedValue {
        case .parsed(let value): return value
        case .text(let json): return try JSONValue(parsing: json)
        }
    }
}
