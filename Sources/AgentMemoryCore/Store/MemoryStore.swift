import AgentMemoryJSON
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
    func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord?

    /// The live records under `keys`, by key (missing and expired keys are absent). The
    /// default reads them one by one; a networked store answers in one round trip.
    func get(_ keys: [MemoryKey], in namespace: Namespace) async throws -> [MemoryKey: MemoryRecord]

    /// Applies puts, appends and deletes in one transaction: all of them, or (when one fails)
    /// none. Each write follows ``RecordTransition`` against the key's current row and sees
    /// the writes before it. Returns one outcome per operation, in order.
    func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome]

    /// Writes plans staged by a ``StagedBatch`` in one transaction, exactly as planned, if
    /// every key is still at the version its plan was made against; otherwise writes nothing
    /// and throws ``MemoryError/Code/versionConflict``. Quotas are checked as for ``apply(_:in:)``.
    func commit(_ plans: [WritePlan], in namespace: Namespace) async throws

    /// One page of records in byte order of their keys, optionally only keys starting with
    /// `prefix`, continuing after `cursor` (from a previous page's ``MemoryPage/nextCursor``).
    func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage

    /// Up to `limit` existing keys that resemble `key` (a key that was not found), closest
    /// first, for the suggestions of a `recall` miss; never a reserved key. Backends answer
    /// from their ordered key index (see ``KeySuggestionSearch``); the default ranks the first
    /// 2,000 keys of a listing.
    func suggestKeys(near key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [String]

    /// Full-text search over keys and values, best match first, with a snippet per hit.
    func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit]

    /// Every namespace that holds at least one live record, with its record count, by name.
    func namespaces() async throws -> [NamespaceSummary]

    /// Up to `limit` changes of the namespace after sequence `since`, oldest first.
    func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange]

    /// The retained changes of one key, oldest first (at most `limit`, the newest ones).
    func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange]

    /// Every change after sequence `since`, then each new change as it is committed, until
    /// the consumer stops iterating. Backends without push notifications poll.
    func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error>

    /// A commit that writes a ``StagedBatch``'s plans while the batch stages more (see
    /// ``StreamedCommit``), or `nil` when the store has none or cannot begin one now (a write
    /// in progress); the batch then commits with ``commit(_:in:)``. The default is `nil`.
    func streamedCommit(in namespace: Namespace) -> (any StreamedCommit)?
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
}
