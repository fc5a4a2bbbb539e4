import AgentMemoryJSON
import Foundation

/// A write checked and serialized before a backend opens its transaction.
public struct PreparedWrite: Sendable {
    /// What the write does.
    public enum Kind: Sendable {
        /// Create or replace, with the value's compact JSON text.
        case put(JSONValue, json: String, options: PutOptions)
        /// Append to the current value.
        case append(JSONValue, options: AppendOptions)
        /// Delete.
        case delete(ifVersion: Int?, author: String?)
    }

    /// The key written.
    public let key: MemoryKey
    /// What the write does.
    public let kind: Kind
}

/// A change-log entry before the backend numbers it.
public struct ChangeDraft: Sendable, Hashable {
    /// What happened.
    public var operation: MemoryChange.Operation
    /// The version written, or the version deleted.
    public var version: Int
    /// The writer.
    public var author: String?
    /// When.
    public var time: Date

    /// An entry of `operation` on `version` by `author` at `time`.
    package init(operation: MemoryChange.Operation, version: Int, author: String?, time: Date) {
        (self.operation, self.version, self.author, self.time) = (operation, version, author, time)
    }

    /// The numbered log entry for `key`.
    public func numbered(_ sequence: Int64, key: MemoryKey) -> MemoryChange {
        MemoryChange(sequence: sequence, key: key.rawValue, operation: operation, version: version, author: author, time: time)
    }
}

/// What a write did: the stored record (put, append) or whether a record was deleted, and the
/// live record it replaced.
public struct WriteOutcome: Sendable, Hashable {
    /// The record stored by a put or an append; `nil` for a delete.
    public var record: MemoryRecord?
    /// Whether a delete removed a live record.
    public var deleted: Bool
    /// The live record before the write, without its value; `nil` when there was none.
    public var previous: RecordStamp?

    /// Creates an outcome.
    public init(record: MemoryRecord?, deleted: Bool, previous: RecordStamp?) {
        self.record = record
        self.deleted = deleted
        self.previous = previous
    }

    /// The outcome as a batch result.
    public var result: MemoryOperationResult {
        record.map(MemoryOperationResult.put) ?? .delete(deleted)
    }
}

/// The planned effect of one write on one key: the only place that decides how a write
/// becomes a record (version, times, expiry, append merge, size, change-log entry).
public struct WritePlan: Sendable {
    /// What the backend does with the key's row.
    public enum Action: Sendable {
        /// Insert or replace the row with this record, its JSON text and its size.
        case store(MemoryRecord, json: String, size: Int)
        /// Remove the row (a live record deleted, or an expired one cleaned up).
        case remove
        /// Leave the row alone (a delete of a key that does not exist).
        case none
    }

    /// The key.
    public let key: MemoryKey
    /// The live version the plan was made against (0: none); a staged plan commits only if
    /// the key is still at this version.
    public let expectedVersion: Int
    /// What to do with the row.
    public let action: Action
    /// The change-log entry, or `nil` when nothing visible changed.
    public let change: ChangeDraft?
    /// What the caller is told.
    public let outcome: WriteOutcome

    /// How many rows the namespace gains when this plan replaces `row`.
    public func keysDelta(replacing row: CurrentRow?) -> Int {
        switch action {
        case .store: return row == nil ? 1 : 0
        case .remove: return row == nil ? 0 : -1
        case .none: return 0
        }
    }

    /// How many bytes the namespace gains when this plan replaces `row`.
    public func bytesDelta(replacing row: CurrentRow?) -> Int {
        switch action {
        case .store(_, _, let size): return size - (row?.size ?? 0)
        case .remove: return -(row?.size ?? 0)
        case .none: return 0
        }
    }
}

/// Rows and bytes a namespace holds.
public struct NamespaceUsage: Sendable, Hashable {
    /// Rows, expired ones included until purged.
    public var keys: Int
    /// Key plus value bytes of those rows.
    public var bytes: Int

    /// Creates a usage figure.
    public init(keys: Int, bytes: Int) {
        self.keys = keys
        self.bytes = bytes
    }
}
