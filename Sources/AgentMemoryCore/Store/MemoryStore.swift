import Foundation

/// A namespaced, versioned key-value store for agent memory.
///
/// Every backend (in-memory, SQLite, PostgreSQL) implements these few requirements and passes
/// the same conformance suite. Keys are compared byte for byte; values are JSON; every write
/// bumps the record's version; expired records are invisible to every read at once.
public protocol MemoryStore: Sendable {
    /// The limits this store enforces on every write (importers and front ends check input
    /// against them before writing).
    var limits: MemoryLimits { get }

    /// Releases the store's resources (connections, file handles, timers). Calls after
    /// `close()` fail with ``MemoryError/Code/unavailable``; closing twice does nothing.
    func close() async throws

    /// The record under `key`, or `nil` when there is none (or it has expired).
    func get(_ key: String, in namespace: Namespace) async throws -> MemoryRecord?

    /// Creates or replaces `key`, returning the stored record.
    ///
    /// With ``PutOptions/ifVersion`` the write is a compare-and-set: it happens only when the
    /// current version matches (`0` meaning "must not exist"), else it throws
    /// ``MemoryError/Code/versionConflict`` carrying the current version.
    @discardableResult
    func put(_ key: String, value: JSONValue, in namespace: Namespace, options: PutOptions) async throws -> MemoryRecord

    /// Deletes `key`; returns whether a record was deleted. With `ifVersion`, deletes only that
    /// version, else throws ``MemoryError/Code/versionConflict``. `author` goes to the change log.
    @discardableResult
    func delete(_ key: String, in namespace: Namespace, ifVersion: Int?, author: String?) async throws -> Bool

    /// One page of records in byte order of their keys, optionally only keys starting with
    /// `prefix`, continuing after `cursor` (from a previous page's ``MemoryPage/nextCursor``).
    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage

    /// Full-text search over keys and values, best match first, with a snippet per hit.
    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit]

    /// Every namespace that holds at least one live record, with its record count, by name.
    func namespaces() async throws -> [NamespaceSummary]

    /// Applies puts, appends and deletes atomically: all of them, or (when one fails) none.
    @discardableResult
    func batch(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [MemoryOperationResult]

    /// Appends `value` to the array (or string) under `key` in one atomic step, creating a
    /// one-element array when the key does not exist; see ``AppendOptions``. Concurrent
    /// appends never lose or duplicate an element.
    @discardableResult
    func append(_ key: String, value: JSONValue, in namespace: Namespace, options: AppendOptions) async throws -> MemoryRecord

    /// Up to `limit` changes of the namespace after sequence `since`, oldest first.
    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange]

    /// The retained changes of one key, oldest first (at most `limit`, the newest ones).
    func history(of key: String, in namespace: Namespace, limit: Int) async throws -> [MemoryChange]

    /// Every change after sequence `since`, then each new change as it is committed, until
    /// the consumer stops iterating. Backends without push notifications poll.
    func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error>
}

/// How a ``MemoryStore/put(_:value:in:options:)`` behaves.
public struct PutOptions: Sendable, Hashable {
    /// Compare-and-set: the version the key must have now (`0`: must not exist), or `nil`.
    public var ifVersion: Int?
    /// How long the record lives, or `nil` to keep it until deleted.
    public var ttl: Duration?
    /// The agent id recorded as the writer.
    public var author: String?

    /// Creates options; by default an unconditional write with no TTL and no author.
    public init(ifVersion: Int? = nil, ttl: Duration? = nil, author: String? = nil) {
        self.ifVersion = ifVersion
        self.ttl = ttl
        self.author = author
    }

    /// An unconditional write with no TTL and no author.
    public static let none = PutOptions()

    /// The expiry time for a write at `now`, or `nil` without a TTL.
    public func expiry(from now: Date) -> Date? {
        guard let ttl else { return nil }
        let (seconds, attoseconds) = ttl.components
        return now.addingTimeInterval(Double(seconds) + Double(attoseconds) / 1e18)
    }

    /// Throws ``MemoryError/Code/invalidArgument`` for a negative `ifVersion` or a TTL that is
    /// not positive.
    public func validate() throws {
        if let ifVersion, ifVersion < 0 {
            throw MemoryError(.invalidArgument, "ifVersion must be 0 (must not exist) or a version >= 1, got \(ifVersion)")
        }
        if let ttl, ttl <= .zero {
            throw MemoryError(.invalidArgument, "ttl must be positive, got \(ttl)")
        }
    }
}

/// One page of a listing.
public struct MemoryPage: Sendable, Hashable {
    /// The records of this page, in byte order of their keys.
    public var records: [MemoryRecord]
    /// Pass this to the next `list` call to continue; `nil` when this is the last page.
    public var nextCursor: String?

    /// Creates a page.
    public init(records: [MemoryRecord], nextCursor: String?) {
        self.records = records
        self.nextCursor = nextCursor
    }
}

/// One result of a full-text search.
public struct SearchHit: Sendable, Hashable {
    /// The matching record.
    public var record: MemoryRecord
    /// The relevance score; higher is better (only comparable within one result list).
    public var score: Double
    /// A short excerpt of the value (or key) around the match, with matches in `[` `]`.
    public var snippet: String

    /// Creates a hit.
    public init(record: MemoryRecord, score: Double, snippet: String) {
        self.record = record
        self.score = score
        self.snippet = snippet
    }
}

/// A namespace and how many live records it holds.
public struct NamespaceSummary: Sendable, Hashable {
    /// The namespace.
    public var namespace: Namespace
    /// How many records it holds.
    public var recordCount: Int

    /// Creates a summary.
    public init(namespace: Namespace, recordCount: Int) {
        self.namespace = namespace
        self.recordCount = recordCount
    }
}

/// One operation of an atomic ``MemoryStore/batch(_:in:)``.
public enum MemoryOperation: Sendable, Hashable {
    /// Create or replace a key.
    case put(key: String, value: JSONValue, options: PutOptions = .none)
    /// Delete a key (with an optional compare-and-set version and the author for the log).
    case delete(key: String, ifVersion: Int? = nil, author: String? = nil)
    /// Append to a key's array or string (see ``AppendOptions``).
    case append(key: String, value: JSONValue, options: AppendOptions = AppendOptions())
}

/// The result of one operation of a batch, in the order of the operations.
public enum MemoryOperationResult: Sendable, Hashable {
    /// The record stored by a put or an append.
    case put(MemoryRecord)
    /// Whether a delete removed a record.
    case delete(Bool)
}

extension MemoryStore {
    /// Does nothing: for stores that hold no resources.
    public func close() async throws {}

    /// Creates or replaces `key` with no conditions, TTL or author.
    @discardableResult
    public func put(_ key: String, value: JSONValue, in namespace: Namespace) async throws -> MemoryRecord {
        try await put(key, value: value, in: namespace, options: .none)
    }

    /// Deletes `key` unconditionally; returns whether a record was deleted.
    @discardableResult
    public func delete(_ key: String, in namespace: Namespace) async throws -> Bool {
        try await delete(key, in: namespace, ifVersion: nil, author: nil)
    }

    /// Deletes `key` if it has version `ifVersion` (`nil`: unconditionally), with no author.
    @discardableResult
    public func delete(_ key: String, in namespace: Namespace, ifVersion: Int?) async throws -> Bool {
        try await delete(key, in: namespace, ifVersion: ifVersion, author: nil)
    }

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

extension MemoryStore {
    /// Polls ``changes(in:since:limit:)`` every `interval` and yields what is new: the
    /// ``watch(in:since:)`` of stores that cannot push changes.
    public func pollChanges(in namespace: Namespace, since: Int64, interval: Duration = .milliseconds(100)) -> AsyncThrowingStream<MemoryChange, any Error> {
        AsyncThrowingStream { continuation in
            let task = Task {
                var last = since
                do {
                    while !Task.isCancelled {
                        let batch = try await changes(in: namespace, since: last, limit: 500)
                        for change in batch { continuation.yield(change) }
                        last = batch.last?.sequence ?? last
                        if batch.count < 500 { try await Task.sleep(for: interval) }
                    }
                    continuation.finish()
                } catch is CancellationError {
                    continuation.finish()
                } catch {
                    continuation.finish(throwing: error)
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }

    /// Appends with no separator, condition or author.
    @discardableResult
    public func append(_ key: String, value: JSONValue, in namespace: Namespace) async throws -> MemoryRecord {
        try await append(key, value: value, in: namespace, options: AppendOptions())
    }
}
