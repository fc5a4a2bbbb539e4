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

/// How a write turns into a record: the rule every backend and every staged batch follows.
public enum RecordTransition {
    /// Plans `write` against the key's current row at time `now`.
    ///
    /// An expired row counts as absent. Throws ``MemoryError/Code/versionConflict`` when a
    /// compare-and-set does not match, ``MemoryError/Code/valueTooLarge`` for an appended value
    /// over the limit, and ``MemoryError/Code/invalidArgument`` for an append to a value that
    /// is neither an array nor a string.
    public static func plan(_ write: PreparedWrite, current row: CurrentRow?, limits: MemoryLimits, now: Date) throws -> WritePlan {
        let live = row.flatMap { $0.stamp.isExpired(at: now) ? nil : $0 }
        let liveVersion = live?.stamp.version ?? 0
        let key = write.key
        func check(_ expected: Int?) throws {
            if let expected, expected != liveVersion {
                throw MemoryError.conflict(key: key.rawValue, expected: expected, current: liveVersion, author: live?.stamp.author)
            }
        }
        func store(_ value: JSONValue, json: String, operation: MemoryChange.Operation, author: String?, expiresAt: Date?) -> WritePlan {
            let record = MemoryRecord(
                key: key.rawValue, value: value, version: liveVersion + 1, createdAt: live?.stamp.createdAt ?? now,
                updatedAt: now, author: author, expiresAt: expiresAt)
            return WritePlan(
                key: key, expectedVersion: liveVersion,
                action: .store(record, json: json, size: key.byteCount + json.utf8.count),
                change: ChangeDraft(operation: operation, version: record.version, author: author, time: now),
                outcome: WriteOutcome(record: record, deleted: false, previous: live?.stamp))
        }
        switch write.kind {
        case .put(let value, let json, let options):
            try check(options.ifVersion)
            return store(value, json: json, operation: .put, author: options.author, expiresAt: options.expiry(from: now))
        case .append(let value, let options):
            try check(options.ifVersion)
            let combined = try options.appending(value, to: try live?.value(), key: key.rawValue)
            let json = combined.jsonString()
            try limits.validate(valueBytes: json.utf8.count, key: key.rawValue)
            // An append keeps the record's expiry.
            return store(combined, json: json, operation: .append, author: options.author, expiresAt: live?.stamp.expiresAt)
        case .delete(let ifVersion, let author):
            try check(ifVersion)
            guard let live else {
                return WritePlan(
                    key: key, expectedVersion: 0, action: row == nil ? .none : .remove, change: nil,
                    outcome: WriteOutcome(record: nil, deleted: false, previous: nil))
            }
            return WritePlan(
                key: key, expectedVersion: liveVersion, action: .remove,
                change: ChangeDraft(operation: .delete, version: liveVersion, author: author, time: now),
                outcome: WriteOutcome(record: nil, deleted: true, previous: live.stamp))
        }
    }
}

extension MemoryLimits {
    /// Checks an operation's options and value size and serializes its value once, before a
    /// backend opens its transaction. The key was checked when it was made.
    public func prepare(_ operation: MemoryOperation) throws -> PreparedWrite {
        switch operation {
        case .put(let key, let value, let options):
            try validate(key: key)
            try options.validate()
            let json = value.jsonString()
            try validate(valueBytes: json.utf8.count, key: key.rawValue)
            return PreparedWrite(key: key, kind: .put(value, json: json, options: options))
        case .append(let key, let value, let options):
            try validate(key: key)
            return PreparedWrite(key: key, kind: .append(value, options: options))
        case .delete(let key, let ifVersion, let author):
            return PreparedWrite(key: key, kind: .delete(ifVersion: ifVersion, author: author))
        }
    }

    /// Throws ``MemoryError/Code/invalidKey`` when `key` is longer than a ``maxKeyBytes``
    /// set below the universal 512 bytes.
    public func validate(key: MemoryKey) throws {
        if maxKeyBytes < MemoryKey.maxBytes, key.byteCount > maxKeyBytes {
            throw MemoryError(.invalidKey, "Invalid key: the key is \(key.byteCount) UTF-8 bytes, the limit is \(maxKeyBytes)")
        }
    }

    /// Throws ``MemoryError/Code/quotaExceeded`` when `plan`, replacing `row`, would take the
    /// namespace past its quota.
    public func checkQuota(_ plan: WritePlan, replacing row: CurrentRow?, usage: NamespaceUsage, namespace: Namespace) throws {
        guard case .store = plan.action else { return }  // removing never needs room
        try validateQuota(
            namespace: namespace, keysAfter: usage.keys + plan.keysDelta(replacing: row),
            bytesAfter: usage.bytes + plan.bytesDelta(replacing: row))
    }
}
