import Foundation

/// A memory store that lives in the process: fast, for tests and for agents that need no
/// persistence. Keys compare byte for byte; the clock is a parameter so TTL can be tested
/// without sleeping.
public actor InMemoryMemoryStore: MemoryStore {
    /// The limits enforced on every write.
    public nonisolated let limits: MemoryLimits
    /// How long the change log is kept.
    public nonisolated let retention: ChangeLogRetention
    private let clock: @Sendable () -> Date
    private var spaces: [Namespace: Space] = [:]
    private var commitsSincePrune = 0
    private var watchers: [Namespace: [UUID: AsyncThrowingStream<MemoryChange, any Error>.Continuation]] = [:]

    /// One namespace: records by key bytes, plus the keys in byte order for listing.
    private struct Space {
        var records: [ByteKey: Entry] = [:]
        var sortedKeys: [ByteKey] = []
        var bytes = 0
        var changes: [MemoryChange] = []
        var lastSequence: Int64 = 0
        /// The full-text index of the namespace's records.
        var searchIndex = InMemorySearchIndex()

        mutating func log(_ key: String, _ operation: MemoryChange.Operation, version: Int, author: String?, time: Date) {
            lastSequence += 1
            changes.append(MemoryChange(sequence: lastSequence, key: key, operation: operation, version: version, author: author, time: time))
        }

        func insertionIndex(of key: ByteKey) -> Int {
            var low = 0
            var high = sortedKeys.count
            while low < high {
                let mid = (low + high) / 2
                if sortedKeys[mid] < key { low = mid + 1 } else { high = mid }
            }
            return low
        }

        mutating func remove(_ key: ByteKey) {
            guard let entry = records.removeValue(forKey: key) else { return }
            searchIndex.unindex(key, entry.record)
            bytes -= entry.bytes
            let index = insertionIndex(of: key)
            if index < sortedKeys.count, sortedKeys[index] == key { sortedKeys.remove(at: index) }
        }

        mutating func set(_ key: ByteKey, _ entry: Entry) {
            if let old = records.updateValue(entry, forKey: key) {
                searchIndex.unindex(key, old.record)
                bytes += entry.bytes - old.bytes
            } else {
                bytes += entry.bytes
                sortedKeys.insert(key, at: insertionIndex(of: key))
            }
            searchIndex.index(key, entry.record)
        }
    }

    private struct Entry {
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
    public func get(_ key: String, in namespace: Namespace) async throws -> MemoryRecord? {
        try limits.validate(key: key)
        return live(ByteKey(key), in: namespace, now: clock())?.record
    }

    /// Creates or replaces `key`; see ``MemoryStore/put(_:value:in:options:)``.
    @discardableResult
    public func put(_ key: String, value: JSONValue, in namespace: Namespace, options: PutOptions) async throws -> MemoryRecord {
        let now = clock()
        return try mutate(namespace, now: now) { space in
            try applyPut(key, value: value, options: options, to: &space, namespace: namespace, now: now)
        }
    }

    /// Appends atomically; see ``MemoryStore/append(_:value:in:options:)``.
    @discardableResult
    public func append(_ key: String, value: JSONValue, in namespace: Namespace, options: AppendOptions) async throws -> MemoryRecord {
        let now = clock()
        return try mutate(namespace, now: now) { space in
            try applyAppend(key, value: value, options: options, to: &space, namespace: namespace, now: now)
        }
    }

    /// Deletes `key`; see ``MemoryStore/delete(_:in:ifVersion:)``.
    @discardableResult
    public func delete(_ key: String, in namespace: Namespace, ifVersion: Int?, author: String?) async throws -> Bool {
        let now = clock()
        return try mutate(namespace, now: now) { space in
            try applyDelete(key, ifVersion: ifVersion, author: author, to: &space, now: now)
        }
    }

    /// A page of live records in key byte order.
    public func list(in namespace: Namespace, prefix: String?, cursor: String?, limit: Int) async throws -> MemoryPage {
        try ListCursor.validate(limit: limit)
        let after = try cursor.map(ListCursor.decode).map(ByteKey.init)
        guard let space = spaces[namespace] else { return MemoryPage(records: [], nextCursor: nil) }
        let now = clock()
        let prefixBytes = prefix.map { Array($0.utf8) } ?? []
        var index: Int
        if let after {
            index = space.insertionIndex(of: after)
            if index < space.sortedKeys.count, space.sortedKeys[index] == after { index += 1 }
        } else {
            index = space.insertionIndex(of: ByteKey(bytes: prefixBytes))
        }
        var records: [MemoryRecord] = []
        var hasMore = false
        while index < space.sortedKeys.count {
            let key = space.sortedKeys[index]
            index += 1
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

    /// Ranked word search over keys and values; see ``InMemorySearchIndex``.
    public func search(_ query: String, in namespace: Namespace, limit: Int) async throws -> [SearchHit] {
        try ListCursor.validate(limit: limit)
        guard let space = spaces[namespace] else { return [] }
        let now = clock()
        let best = space.searchIndex.search(query, limit: limit) { key in
            space.records[key].map { !$0.record.isExpired(at: now) } ?? false
        }
        return best.map { InMemorySearchIndex.hit(space.records[$0.key]!.record, score: $0.score, query: query) }
    }

    /// Namespaces with live records, by name.
    public func namespaces() async throws -> [NamespaceSummary] {
        let now = clock()
        return spaces.compactMap { namespace, space in
            let count = space.records.values.reduce(0) { $0 + ($1.record.isExpired(at: now) ? 0 : 1) }
            return count > 0 ? NamespaceSummary(namespace: namespace, recordCount: count) : nil
        }.sorted { $0.namespace < $1.namespace }
    }

    /// Applies every operation to a copy of the namespace and keeps the copy only if all succeed.
    @discardableResult
    public func batch(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [MemoryOperationResult] {
        let now = clock()
        return try mutate(namespace, now: now) { space in
            try apply(operations, to: &space, namespace: namespace, now: now)
        }
    }

    /// Applies a batch in place; if an operation fails, undoes the ones before it (their keys'
    /// earlier entries and the log are restored) and rethrows, so the batch is all or nothing.
    private func apply(_ operations: [MemoryOperation], to space: inout Space, namespace: Namespace, now: Date) throws -> [MemoryOperationResult] {
        var results: [MemoryOperationResult] = []
        results.reserveCapacity(operations.count)
        var undo: [(ByteKey, Entry?)] = []
        var touched = Set<ByteKey>()
        let logCount = space.changes.count
        let lastSequence = space.lastSequence
        for operation in operations {
            let key: String
            switch operation {
            case .put(let name, _, _), .delete(let name, _, _), .append(let name, _, _): key = name
            }
            let byteKey = ByteKey(key)
            if touched.insert(byteKey).inserted { undo.append((byteKey, space.records[byteKey])) }
            do {
                try apply(operation, to: &space, namespace: namespace, now: now, into: &results)
            } catch {
                for (byteKey, entry) in undo.reversed() {
                    if let entry { space.set(byteKey, entry) } else { space.remove(byteKey) }
                }
                space.changes.removeLast(space.changes.count - logCount)
                space.lastSequence = lastSequence
                throw error
            }
        }
        return results
    }

    private func apply(
        _ operation: MemoryOperation, to space: inout Space, namespace: Namespace, now: Date, into results: inout [MemoryOperationResult]
    ) throws {
            switch operation {
            case .put(let key, let value, let options):
                results.append(.put(try applyPut(key, value: value, options: options, to: &space, namespace: namespace, now: now)))
            case .delete(let key, let ifVersion, let author):
                results.append(.delete(try applyDelete(key, ifVersion: ifVersion, author: author, to: &space, now: now)))
            case .append(let key, let value, let options):
                results.append(.put(try applyAppend(key, value: value, options: options, to: &space, namespace: namespace, now: now)))
            }
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
    public func history(of key: String, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try limits.validate(key: key)
        try ListCursor.validate(limit: limit)
        guard let space = spaces[namespace] else { return [] }
        let oldest = retainedAfter(space)
        let cutoff = retention.cutoff(at: clock())
        let matching = space.changes.filter {
            $0.sequence > oldest && (cutoff == nil || $0.time >= cutoff!) && $0.key.bytesEqual(key)
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

    /// Runs `body` on the namespace in place (taken out of the dictionary so it is not copied),
    /// then trims the log and tells the watchers what is new. Single operations check before
    /// they change anything; a batch undoes its own work when it fails.
    private func mutate<T>(_ namespace: Namespace, now: Date, _ body: (inout Space) throws -> T) throws -> T {
        var space = spaces.removeValue(forKey: namespace) ?? Space()
        let previous = space.lastSequence
        let result: T
        do {
            result = try body(&space)
        } catch {
            spaces[namespace] = space
            throw error
        }
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

    private func applyPut(
        _ key: String, value: JSONValue, options: PutOptions, to space: inout Space, namespace: Namespace, now: Date,
        operation: MemoryChange.Operation = .put, keepExpiry: Date? = nil
    ) throws -> MemoryRecord {
        try limits.validate(key: key)
        try options.validate()
        let valueBytes = value.jsonByteCount
        try limits.validate(valueBytes: valueBytes, key: key)
        let byteKey = ByteKey(key)
        var current = space.records[byteKey]
        if let existing = current, existing.record.isExpired(at: now) {
            space.remove(byteKey)
            current = nil
        }
        if let expected = options.ifVersion, expected != (current?.record.version ?? 0) {
            throw MemoryError.conflict(key: key, expected: expected, current: current?.record.version ?? 0, author: current?.record.author)
        }
        let entryBytes = key.utf8.count + valueBytes
        if limits.hasQuota {
            if current == nil, let maxKeys = limits.maxKeysPerNamespace, space.records.count + 1 > maxKeys {
                purgeExpired(&space, now: now)
            }
            let keysAfter = space.records.count + (current == nil ? 1 : 0)
            let bytesAfter = space.bytes - (current?.bytes ?? 0) + entryBytes
            try limits.validateQuota(namespace: namespace, keysAfter: keysAfter, bytesAfter: bytesAfter)
        }
        let record = MemoryRecord(
            key: key, value: value, version: (current?.record.version ?? 0) + 1,
            createdAt: current?.record.createdAt ?? now, updatedAt: now,
            author: options.author, expiresAt: keepExpiry ?? options.expiry(from: now))
        space.set(byteKey, Entry(record: record, bytes: entryBytes))
        space.log(key, operation, version: record.version, author: options.author, time: now)
        return record
    }

    private func applyAppend(
        _ key: String, value: JSONValue, options: AppendOptions, to space: inout Space, namespace: Namespace, now: Date
    ) throws -> MemoryRecord {
        try limits.validate(key: key)
        let existing = live(in: space, ByteKey(key), now: now)
        let combined = try options.appending(value, to: existing?.record.value, key: key)
        // The record keeps its expiry; the version check happens in the put.
        let putOptions = PutOptions(ifVersion: options.ifVersion, author: options.author)
        return try applyPut(key, value: combined, options: putOptions, to: &space, namespace: namespace, now: now, operation: .append, keepExpiry: existing?.record.expiresAt)
    }

    private func live(in space: Space, _ key: ByteKey, now: Date) -> Entry? {
        guard let entry = space.records[key], !entry.record.isExpired(at: now) else { return nil }
        return entry
    }

    private func applyDelete(_ key: String, ifVersion: Int?, author: String?, to space: inout Space, now: Date) throws -> Bool {
        try limits.validate(key: key)
        let byteKey = ByteKey(key)
        var current = space.records[byteKey]
        if let existing = current, existing.record.isExpired(at: now) {
            space.remove(byteKey)
            current = nil
        }
        if let expected = ifVersion, expected != (current?.record.version ?? 0) {
            throw MemoryError.conflict(key: key, expected: expected, current: current?.record.version ?? 0, author: current?.record.author)
        }
        guard let current else { return false }
        space.remove(byteKey)
        space.log(key, .delete, version: current.record.version, author: author, time: now)
        return true
    }

    private func purgeExpired(_ space: inout Space, now: Date) {
        for (key, entry) in space.records where entry.record.isExpired(at: now) {
            space.remove(key)
        }
    }
}

/// A key as its UTF-8 bytes: hashed, compared and ordered byte for byte.
struct ByteKey: Hashable, Comparable {
    let bytes: [UInt8]

    init(_ key: String) { bytes = Array(key.utf8) }
    init(bytes: [UInt8]) { self.bytes = bytes }

    static func < (lhs: ByteKey, rhs: ByteKey) -> Bool {
        lhs.bytes.lexicographicallyPrecedes(rhs.bytes)
    }
}
