import AgentMemoryJSON
import Foundation

extension MemoryStore {
    /// Does nothing: for stores that hold no resources.
    public func close() async throws {}

    /// Reads the keys one by one.
    public func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord] {
        var records: [MemoryKey: MemoryRecord] = [:]
        for key in Set(keys) {
            if let record = try await get(key, in: namespace) { records[key] = record }
        }
        return records
    }

    /// Applies one operation; see ``apply(_:in:)``.
    public func write(_ operation: MemoryOperation, in namespace: Namespace) async throws -> WriteOutcome {
        guard let outcome = try await apply([operation], in: namespace).first else {
            throw MemoryError(.storage, "The store returned no outcome for a write of \"\(operation.key)\"")
        }
        return outcome
    }

    /// Applies operations atomically and returns their results in order; see ``apply(_:in:)``.
    @discardableResult
    public func batch(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [MemoryOperationResult] {
        try await apply(operations, in: namespace).map(\.result)
    }

    /// Creates or replaces `key`, returning the stored record.
    ///
    /// With ``PutOptions/ifVersion`` the write is a compare-and-set: it happens only when the
    /// current version matches (`0` meaning "must not exist"), else it throws
    /// ``MemoryError/Code/versionConflict`` carrying the current version.
    @discardableResult
    public func put(_ key: MemoryKey, value: JSONValue, in namespace: Namespace, options: PutOptions = .none) async throws -> MemoryRecord {
        try await stored(write(.put(key: key, value: value, options: options), in: namespace), key: key)
    }

    /// Appends `value` to the array (or string) under `key` in one atomic step, creating a
    /// one-element array when the key does not exist; see ``AppendOptions``. Concurrent
    /// appends never lose or duplicate an element.
    @discardableResult
    public func append(_ key: MemoryKey, value: JSONValue, in namespace: Namespace, options: AppendOptions = AppendOptions()) async throws -> MemoryRecord {
        try await stored(write(.append(key: key, value: value, options: options), in: namespace), key: key)
    }

    /// Deletes `key`; returns whether a record was deleted. With `ifVersion`, deletes only that
    /// version, else throws ``MemoryError/Code/versionConflict``. `author` goes to the change log.
    @discardableResult
    public func delete(_ key: MemoryKey, in namespace: Namespace, ifVersion: Int? = nil, author: String? = nil) async throws -> Bool {
        try await write(.delete(key: key, ifVersion: ifVersion, author: author), in: namespace).deleted
    }

    private func stored(_ outcome: WriteOutcome, key: MemoryKey) throws -> MemoryRecord {
        guard let record = outcome.record else {
            throw MemoryError(.storage, "The store returned no record for a write of \"\(key)\"")
        }
        return record
    }

    // MARK: - String keys, checked here

    /// The record under `key` (checked against the key rules first), or `nil`.
    public func get(_ key: String, in namespace: Namespace) async throws -> MemoryRecord? {
        try await get(MemoryKey(key), in: namespace)
    }

    /// Creates or replaces `key` (checked against the key rules first).
    @discardableResult
    public func put(_ key: String, value: JSONValue, in namespace: Namespace, options: PutOptions = .none) async throws -> MemoryRecord {
        try await put(MemoryKey(key), value: value, in: namespace, options: options)
    }

    /// Appends to `key` (checked against the key rules first).
    @discardableResult
    public func append(_ key: String, value: JSONValue, in namespace: Namespace, options: AppendOptions = AppendOptions()) async throws -> MemoryRecord {
        try await append(MemoryKey(key), value: value, in: namespace, options: options)
    }

    /// Deletes `key` (checked against the key rules first); returns whether a record was deleted.
    @discardableResult
    public func delete(_ key: String, in namespace: Namespace, ifVersion: Int? = nil, author: String? = nil) async throws -> Bool {
        try await delete(MemoryKey(key), in: namespace, ifVersion: ifVersion, author: author)
    }

    /// The retained changes of `key` (checked against the key rules first), oldest first.
    public func history(of key: String, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try await history(of: MemoryKey(key), in: namespace, limit: limit)
    }

    // MARK: - Listing

    /// The first page (up to `limit` records) of a namespace.
    public func list(in namespace: Namespace, prefix: String? = nil, limit: Int = 100) async throws -> MemoryPage {
        try await list(in: namespace, prefix: prefix, cursor: nil, limit: limit)
    }

    /// Every live record of a namespace (optionally under a prefix), following cursors.
    public func allRecords(in namespace: Namespace, prefix: String? = nil) async throws -> [MemoryRecord] {
        var records: [MemoryRecord] = []
        var cursor: String?
        repeat {
            let page = try await list(in: namespace, prefix: prefix, cursor: cursor, limit: 1000)
            records += page.records
            cursor = page.nextCursor
        } while cursor != nil
        return records
    }
}
