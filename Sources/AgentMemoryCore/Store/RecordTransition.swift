import AgentMemoryJSON
import Foundation

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
            try Self.validate(author: options.author)
            let json = value.jsonString()
            try validate(valueBytes: json.utf8.count, key: key.rawValue)
            return PreparedWrite(key: key, kind: .put(value, json: json, options: options))
        case .append(let key, let value, let options):
            try validate(key: key)
            try Self.validate(author: options.author)
            return PreparedWrite(key: key, kind: .append(value, options: options))
        case .delete(let key, let ifVersion, let author):
            try Self.validate(author: author)
            return PreparedWrite(key: key, kind: .delete(ifVersion: ifVersion, author: author))
        }
    }

    /// Throws ``MemoryError/Code/invalidArgument`` when `author` holds a control character
    /// (a NUL, a line break): it is stored with the record and in the change log, and read
    /// back as text, which a NUL would cut short.
    public static func validate(author: String?) throws {
        guard let author, let scalar = MemoryKey.firstControlCharacter(in: author) else { return }
        throw MemoryError(
            .invalidArgument, "Invalid author: an author must not contain control characters (found \(MemoryKey.codePoint(scalar)))")
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
