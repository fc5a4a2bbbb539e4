import AgentMemoryJSON
import Foundation

/// A memory store that lives in the process: fast, for tests and for agents that need no
/// persistence. Keys compare byte for byte; the clock is a parameter so TTL can be tested
/// without sleeping.
public actor InMemoryMemoryStore: MemoryStore {
    /// The limits enforced on every write.
    public nonisolated let limits: MemoryLimits
    /// How long the change log is kept.
    public nonisolated let retention: ChangeLogRetention
    let clock: @Sendable () -> Date
    var spaces: [Namespace: Space] = [:]
    private var commitsSincePrune = 0
    private var watchers: [Namespace: [UUID: AsyncThrowingStream<MemoryChange, any Error>.Continuation]] = [:]

    /// One namespace: records by key bytes, plus the keys in byte order for listing.
    struct Space {
        var records: [ByteKey: Entry] = [:]
        var sortedKeys = SortedKeyList()
        var bytes = 0
        var changes: [MemoryChange] = []
        var lastSequence: Int64 = 0
        /// The full-text index of the namespace's records.
        var searchIndex = InMemorySearchIndex()

        mutating func log(_ key: String, _ change: ChangeDraft) {
            lastSequence += 1
            changes.append(
                MemoryChange(
                    sequence: lastSequence, key: key, operation: change.operation, version: change.version, author: change.author,
                    time: change.time))
        }

        mutating func remove(_ key: ByteKey) {
            guard let entry = records.removeValue(forKey: key) else { return }
            searchIndex.unindex(key, entry.record)
            bytes -= entry.bytes
            sortedKeys.remove(key)
        }

        mutating func set(_ key: ByteKey, _ entry: Entry) {
            if let old = records.updateValue(entry, forKey: key) {
                searchIndex.unindex(key, old.record)
                bytes += entry.bytes - old.bytes
            } else {
                bytes += entry.bytes
                sortedKeys.insert(key)
            }
            searchIndex.index(key, entry.record)
        }
    }

    struct Entry {
        var record: MemoryRecord
        var bytes: Int
    }

    /// Creates an empty store with the given limits, change-log retention and clock (the
    /// system clock by default).
    public init(
        limits: MemoryLimits = .default, retention: ChangeLogRetention = .default,
        clock: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.limits = limits
        self.retention = retention
        self.clock = clock
    }

    /// The record under `key`, unless missing or expired.
    public func get(_ key: MemoryKey, in namespace: Namespace) async throws -> MemoryRecord? {
        live(ByteKey(key.rawValue), in: namespace, now: clock())?.record
    }

    /// Applies the operations atomically; see ``MemoryStore/apply(_:in:)``.
    public func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        let prepared = try operations.map(limits.prepare)
        let now = clock()
        return try mutate(namespace, now: now) { writer in
            try prepared.map { try writer.apply($0, limits: limits, namespace: namespace, now: now).outcome }
        }
    }

    /// Writes staged plans atomically; see ``MemoryStore/commit(_:in:)``.
    public func commit(_ plans: [WritePlan], in namespace: Namespace) async throws {
        let now = clock()
        try mutate(namespace, now: now) { writer in
            for plan in plans { try writer.commit(plan, limits: limits, namespace: namespace, now: now) }
        }
    }

    /// A page of live records in key byte order.
    public func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try ListCursor.validate(limit: limit)
        let after = try cursor.map(ListCursor.decode).map(ByteKey.init)
        guard let space = spaces[namespace] else { return MemoryPage(records: [], nextCursor: nil) }
        let now = clock()
        let prefixBytes = prefix.map { Array($0.utf8) } ?? []
        var position: SortedKeyList.Position
        if let after {
            position = space.sortedKeys.lowerBound(after)
            if space.sortedKeys[position] == after { position = space.sortedKeys.after(position) }
        } else {
            position = space.sortedKeys.lowerBound(ByteKey(bytes: prefixBytes))
        }
        var records: [MemoryRecord] = []
        var hasMore = false
        while let key = space.sortedKeys[position] {
            position = space.sortedKeys.after(position)
            if key.bytes.count < prefixBytes.count || !key.bytes.starts(with: prefixBytes) {
                if key.bytes.lexicographicallyPrecedes(prefixBytes) { continue }
                break
            }
            guard let entry = space.records[key], !entry.record.isExpired(at: now) else { continue }
            if records.count == limit {
                hasMore = true
                break
            }
            records.append(entry.record)
        }
        return MemoryPage(records: records, nextCursor: hasMore ? records.last.map { ListCursor.encode(afterKey: $0.key) } : nil)
    }

    /// Ranked word search over keys and values: a pool of candidates from the namespace's
    /// index (``InMemorySearchIndex``), ranked with their neighbours by ``ContextRanking``.
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        guard let space = spaces[namespace] else { return [] }
        let stems = SearchText.queryStems(of: query)
        guard !stems.isEmpty else { return [] }
        let now = clock()
        func isLive(_ key: ByteKey) -> Bool { space.records[key].map { !$0.record.isExpired(at: now) } ?? false }
        let index = space.searchIndex
        let pool = index.search(query, limit: ContextRanking.poolLimit(for: limit), isLive: isLive).map(\.key.bytes)
        guard !pool.isEmpty else { return [] }
        let ids = index.ids(of: stems)
        // The pool and the keys around it are each named once (`keysToRead` leaves the pool out).
        var keys: [ByteKey] = []
        var documents: [SearchDocument] = []
        for key in pool + ContextRanking.keysToRead(around: pool) {
            let byteKey = ByteKey(bytes: key)
            if isLive(byteKey), let document = index.document(byteKey, ids) {
                keys.append(byteKey)
                documents.append(document)
            }
        }
        let ranked = ContextRanking.rank(pool: pool, keys: keys, documents: documents, statistics: index.statistics(ids), limit: limit)
        let matcher = QueryMatcher(stems: stems)
        return ranked.compactMap { hit in
            guard let record = space.records[keys[hit.position]]?.record else { return nil }
            let snippet = matcher.hitSnippet(key: record.key, body: SearchText.body(of: record.value))
            return SearchHit(record: record, score: hit.score, snippet: snippet)
        }
    }

    /// Namespaces with live records, by name.
    public func namespaces() async throws -> [NamespaceSummary] {
        let now = clock()
        return spaces.compactMap { namespace, space in
            let count = space.records.values.reduce(0) { $0 + ($1.record.isExpired(at: now) ? 0 : 1) }
            return count > 0 ? NamespaceSummary(namespace: namespace, recordCount: count) : nil
        }.sorted { $0.namespace < $1.namespace }
    }

    /// Changes after `since`, oldest first.
    public func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        guard let space = spaces[namespace] else { return [] }
        let changes = space.changes
        let start = firstIndex(in: changes, after: max(since, retainedAfter(space)))
        let cutoff = retention.cutoff(at: clock())
        return Array(changes[start...].lazy.filter { cutoff == nil || $0.time >= cutoff! }.prefix(limit))
    }

    /// The retained changes of `key`, oldest first.
    public func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        guard let space = spaces[namespace] else { return [] }
        let oldest = retainedAfter(space)
        let cutoff = retention.cutoff(at: clock())
        let matching = space.changes.filter {
            $0.sequence > oldest && (cutoff == nil || $0.time >= cutoff!) && $0.key.bytesEqual(key.rawValue)
        }
        return Array(matching.suffix(limit))
    }

    /// The backlog after `since`, then each change as it is committed (pushed, not polled).
    public nonisolated func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        let (stream, continuation) = AsyncThrowingStream<MemoryChange, any Error>.makeStream()
        let id = UUID()
        continuation.onTermination = { [weak self] _ in
            Task { await self?.removeWatcher(id, in: namespace) }
        }
        Task { await self.addWatcher(id, continuation, in: namespace, since: since) }
        return stream
    }

    private func addWatcher(
        _ id: UUID, _ continuation: AsyncThrowingStream<MemoryChange, any Error>.Continuation, in namespace: Namespace, since: Int64
    ) {
        if let space = spaces[namespace] {
            for change in space.changes[firstIndex(in: space.changes, after: max(since, retainedAfter(space)))...] {
                continuation.yield(change)
            }
        }
        watchers[namespace, default: [:]][id] = continuation
    }

    private func removeWatcher(_ id: UUID, in namespace: Namespace) {
        watchers[namespace]?[id] = nil
    }

    /// The sequence after which the retention policy keeps entries (by count).
    private func retainedAfter(_ space: Space) -> Int64 {
        guard let maxEntries = retention.maxEntriesPerNamespace else { return 0 }
        return max(0, space.lastSequence - Int64(maxEntries))
    }

    private func firstIndex(in changes: [MemoryChange], after sequence: Int64) -> Int {
        var low = 0
        var high = changes.count
        while low < high {
            let mid = (low + high) / 2
            if changes[mid].sequence <= sequence { low = mid + 1 } else { high = mid }
        }
        return low
    }

    /// Runs `body` on the namespace in place (moved out of the dictionary into a writer, so it
    /// is not copied), then trims the log and tells the watchers what is new. If `body`
    /// throws, every row it touched and the log are restored: all or nothing.
    @discardableResult
    private func mutate<T>(_ namespace: Namespace, now: Date, _ body: (SpaceWriter) throws -> T) throws -> T {
        let writer = SpaceWriter(space: spaces.removeValue(forKey: namespace) ?? Space())
        let previous = writer.space.lastSequence
        let logCount = writer.space.changes.count
        let result: T
        do {
            result = try body(writer)
        } catch {
            writer.undo(logCount: logCount, lastSequence: previous)
            spaces[namespace] = writer.take()
            throw error
        }
        var space = writer.take()
        commit(&space, in: namespace, now: now, previous: previous)
        return result
    }

    /// Stores the updated namespace, trims its log and tells the watchers what is new.
    private func commit(_ space: inout Space, in namespace: Namespace, now: Date, previous: Int64) {
        // Trimmed in chunks so that a full log does not cost a shift of every entry per write;
        // reads never return entries beyond the limit (see `retained`).
        if let maxEntries = retention.maxEntriesPerNamespace, space.changes.count > maxEntries + max(1, maxEntries / 8) {
            space.changes.removeFirst(space.changes.count - maxEntries)
        }
        commitsSincePrune += 1
        if commitsSincePrune >= 1000, let cutoff = retention.cutoff(at: now), let first = space.changes.first, first.time < cutoff {
            commitsSincePrune = 0
            space.changes.removeAll { $0.time < cutoff }
        }
        spaces[namespace] = space
        guard space.lastSequence > previous, let continuations = watchers[namespace]?.values, !continuations.isEmpty else { return }
        for change in space.changes[firstIndex(in: space.changes, after: previous)...] {
            for continuation in continuations { continuation.yield(change) }
        }
    }

    // MARK: - Internals

    private func live(_ key: ByteKey, in namespace: Namespace, now: Date) -> Entry? {
        guard let entry = spaces[namespace]?.records[key], !entry.record.isExpired(at: now) else { return nil }
        return entry
    }
}

/// The writer of one namespace during a mutation: reads rows, writes plans and remembers
/// each touched row's earlier entry so that a failed batch can be undone.
private final class SpaceWriter: RecordWriter {
    private(set) var space: InMemoryMemoryStore.Space
    private var undoLog: [(ByteKey, InMemoryMemoryStore.Entry?)] = []
    private var touched = Set<ByteKey>()

    init(space: consuming InMemoryMemoryStore.Space) { self.space = space }

    /// Hands the namespace back (leaving an empty one behind, so it is not copied).
    func take() -> InMemoryMemoryStore.Space {
        var taken = InMemoryMemoryStore.Space()
        swap(&taken, &space)
        return taken
    }

    func row(for key: MemoryKey) throws -> CurrentRow? {
        space.records[ByteKey(key.rawValue)].map { entry in
            CurrentRow(stamp: RecordStamp(entry.record), size: entry.bytes, value: entry.record.value)
        }
    }

    func usage() throws -> NamespaceUsage {
        NamespaceUsage(keys: space.records.count, bytes: space.bytes)
    }

    func purgeExpired(now: Date) throws -> Int {
        let expired = space.records.filter { $0.value.record.isExpired(at: now) }.map(\.key)
        for key in expired {
            remember(key)
            space.remove(key)
        }
        return expired.count
    }

    func write(_ plan: WritePlan, replacing row: CurrentRow?) throws {
        let key = ByteKey(plan.key.rawValue)
        remember(key)
        switch plan.action {
        case .store(let record, _, let size): space.set(key, InMemoryMemoryStore.Entry(record: record, bytes: size))
        case .remove: space.remove(key)
        case .none: break
        }
        if let change = plan.change { space.log(plan.key.rawValue, change) }
    }

    private func remember(_ key: ByteKey) {
        if touched.insert(key).inserted { undoLog.append((key, space.records[key])) }
    }

    /// Restores every touched row and the change log as they were.
    func undo(logCount: Int, lastSequence: Int64) {
        for (key, entry) in undoLog.reversed() {
            if let entry { space.set(key, entry) } else { space.remove(key) }
        }
        space.changes.removeLast(space.changes.count - logCount)
        space.lastSequence = lastSequence
        undoLog.removeAll()
        touched.removeAll()
    }
}

/// A key as its UTF-8 bytes: hashed, compared and ordered byte for byte.
package struct ByteKey: Hashable, Comparable, Sendable {
    /// The key's UTF-8 bytes.
    package let bytes: [UInt8]

    /// The key of `key`'s UTF-8 bytes.
    package init(_ key: String) { bytes = Array(key.utf8) }
    /// The key of `bytes`.
    package init(bytes: [UInt8]) { self.bytes = bytes }

    /// Byte order.
    package static func < (lhs: ByteKey, rhs: ByteKey) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }

    /// The bytes hashed as one buffer (an array of bytes hashes byte by byte, several times slower).
    package func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }
}
