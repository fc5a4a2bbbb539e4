import AgentMemoryJSON
import Foundation

/// Writes staged against a store and committed together, as one transaction.
///
/// Each staged write is planned with the rule the stores use (``RecordTransition``) against
/// what the batch sees: the store's record, or the batch's own earlier write to the same key.
/// ``commit()`` hands the plans to the store, which writes exactly them in one transaction if
/// no key changed since the batch read it, and otherwise writes nothing and throws
/// ``MemoryError/Code/versionConflict``. The executor stages the memory calls of one assistant
/// turn this way: one transaction and one fsync per turn.
///
/// A batch of ``streamedPart`` writes or more begins the store's ``StreamedCommit`` when it
/// has one (SQLite): the store writes the first plans while the batch plans the rest, and
/// ``commit()`` ends that transaction, with the same outcome.
///
/// A batch is used by one task at a time; it is not `Sendable`.
public final class StagedBatch {
    /// The store written at commit.
    public let store: any MemoryStore
    /// The namespace.
    public let namespace: Namespace
    /// The time every staged write carries.
    public let now: Date
    /// The records read from the store, as read: a turn's prefetch keeps the store's table as
    /// it came, where copying it into one table of everything seen cost an `exec` of 2,000
    /// recalls 170 page faults and 0.8M instructions (BENCHMARKS.md, round twenty-nine).
    private var read: [MemoryKey: MemoryRecord] = [:]
    /// The keys read and found absent.
    private var absent: Set<MemoryKey> = []
    /// What the batch's own writes left under each key (`nil`: deleted); it overrides `read`
    /// and `absent`.
    private var written: [MemoryKey: MemoryRecord?] = [:]
    /// The plans to commit, in order.
    public private(set) var plans: [WritePlan] = []
    /// The store's commit of this batch's plans begun while it stages more (when the store has
    /// one: ``MemoryStore/streamedCommit(in:)``), once ``streamedPart`` plans are staged.
    private var stream: (any StreamedCommit)?
    /// How many of ``plans`` went to ``stream``.
    private var sent = 0
    /// Whether the store had no streamed commit to give (asked once per batch).
    private var streamRefused = false

    /// Plans staged before the batch begins a streamed commit, and sent to it at a time: a
    /// batch of fewer commits them together at ``commit()``, holding no write transaction
    /// while it plans. Against parts of 128, an `exec` of 2,000 `remember` calls took 4% less
    /// with parts of 256 and 6 to 16% more with parts of 64 (BENCHMARKS.md, round
    /// forty-eight).
    public static let streamedPart = 256

    /// Creates an empty batch whose writes carry the time `now`.
    public init(store: any MemoryStore, namespace: Namespace, now: Date) {
        self.store = store
        self.namespace = namespace
        self.now = now
    }

    /// Whether nothing is staged.
    public var isEmpty: Bool { plans.isEmpty }

    /// Reads the keys the batch is about to touch in one store call (one round trip on a
    /// networked store); keys already seen are skipped.
    ///
    /// At a turn's start nothing is seen yet: no key is looked up first, the records read are
    /// kept in the store's table as it came, and absent keys are noted only when fewer records
    /// than keys came back. Hashing each key three times and growing a table once more was 5%
    /// of an `exec` of 2,000 recalls (BENCHMARKS.md, round twenty-nine).
    public func prefetch(_ keys: [MemoryKey]) async throws {
        let unseen = seesNothing ? keys : keys.filter { seen($0) == nil }
        guard !unseen.isEmpty else { return }
        let records = try await store.get(unseen, in: namespace)
        if read.isEmpty {
            read = records
        } else {
            read.merge(records) { _, new in new }
        }
        guard records.count < unseen.count else { return }
        absent.reserveCapacity(absent.count + unseen.count - records.count)
        for key in unseen where records[key] == nil { absent.insert(key) }
    }

    /// Whether the batch has seen no key yet.
    private var seesNothing: Bool { read.isEmpty && absent.isEmpty && written.isEmpty }

    /// What the batch sees of `key`: its record or `nil` when absent, or `nil` at the outer
    /// level when the batch has not seen the key.
    private func seen(_ key: MemoryKey) -> MemoryRecord?? {
        if !written.isEmpty, let own = written[key] { return own }
        if !read.isEmpty, let record = read[key] { return .some(record) }
        if !absent.isEmpty, absent.contains(key) { return .some(nil) }
        return nil
    }

    /// The live record under `key` as the batch sees it.
    public func get(_ key: MemoryKey) async throws -> MemoryRecord? {
        if let known = seen(key) { return known }
        let record = try await store.get(key, in: namespace)
        if let record {
            read[key] = record
        } else {
            absent.insert(key)
        }
        return record
    }

    /// Plans `operation` against what the batch sees and stages it; returns what the write
    /// will do when the batch commits. A rejected write stages nothing.
    @discardableResult
    public func stage(_ operation: MemoryOperation) async throws -> WriteOutcome {
        let prepared = try store.limits.prepare(operation)
        let current = try await get(prepared.key).map { record in
            // The size only matters for quotas, which the store checks again at commit.
            CurrentRow(stamp: RecordStamp(record), size: 0, value: record.value)
        }
        let plan = try RecordTransition.plan(prepared, current: current, limits: store.limits, now: now)
        plans.append(plan)
        if plans.count - sent >= Self.streamedPart { sendStaged() }
        // Room for every key read at once: a turn of writes grows the table once.
        if written.isEmpty { written.reserveCapacity(read.count + absent.count) }
        written[prepared.key] = .some(plan.outcome.record)
        return plan.outcome
    }

    /// The keys the batch has written so far: created or replaced (`true`) or deleted (`false`).
    public var writtenKeys: [MemoryKey: Bool] {
        var keys: [MemoryKey: Bool] = [:]
        for plan in plans {
            switch plan.action {
            case .store: keys[plan.key] = true
            case .remove: keys[plan.key] = false
            case .none: break
            }
        }
        return keys
    }

    /// Hands the plans not yet sent to the streamed commit, begun now if the store gives one.
    private func sendStaged() {
        if stream == nil {
            guard !streamRefused else { return }
            stream = store.streamedCommit(in: namespace)
            guard stream != nil else {
                streamRefused = true
                return
            }
        }
        stream?.send(Array(plans[sent...]))
        sent = plans.count
    }

    /// Writes every staged plan in one transaction, or none of them; empties the batch either
    /// way.
    public func commit() async throws {
        let staged = plans
        let unsent = sent
        let stream = stream
        plans.removeAll()
        read.removeAll()
        absent.removeAll()
        written.removeAll()
        self.stream = nil
        sent = 0
        streamRefused = false
        if let stream {
            if unsent < staged.count { stream.send(Array(staged[unsent...])) }
            try await stream.finish()
            return
        }
        guard !staged.isEmpty else { return }
        try await store.commit(staged, in: namespace)
    }
}
