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
/// A batch is used by one task at a time; it is not `Sendable`.
public final class StagedBatch {
    /// The store written at commit.
    public let store: any MemoryStore
    /// The namespace.
    public let namespace: Namespace
    /// The time every staged write carries.
    public let now: Date
    /// What the batch sees of each key it has read or written (`nil`: absent).
    private var seen: [MemoryKey: MemoryRecord?] = [:]
    /// The plans to commit, in order.
    public private(set) var plans: [WritePlan] = []

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
    public func prefetch(_ keys: [MemoryKey]) async throws {
        // At a turn's start nothing is seen yet: no key needs looking up first, and the
        // records read become what is seen as they are (their table kept, not rehashed), the
        // absent keys added after, if any. Hashing each key three times and growing the table
        // once more was 5% of an `exec` of 2,000 recalls (BENCHMARKS.md, round twenty-nine).
        if seen.isEmpty {
            guard !keys.isEmpty else { return }
            let records = try await store.get(keys, in: namespace)
            guard seen.isEmpty else {
                // Another call of this batch saw keys meanwhile; theirs stand.
                merge(records, for: keys)
                return
            }
            seen = records.mapValues { .some($0) }
            // As many records as keys: every key was found (and none was asked twice).
            guard records.count < keys.count else { return }
            seen.reserveCapacity(keys.count)
            for key in keys where seen[key] == nil { seen[key] = .some(nil) }
            return
        }
        let unseen = keys.filter { seen[$0] == nil }
        guard !unseen.isEmpty else { return }
        merge(try await store.get(unseen, in: namespace), for: unseen)
    }

    /// Notes `records`, read for `keys`, as seen, for the keys not seen yet.
    private func merge(_ records: [MemoryKey: MemoryRecord], for keys: [MemoryKey]) {
        seen.reserveCapacity(seen.count + keys.count)
        for key in keys where seen[key] == nil { seen[key] = .some(records[key]) }
    }

    /// The live record under `key` as the batch sees it.
    public func get(_ key: MemoryKey) async throws -> MemoryRecord? {
        if let known = seen[key] { return known }
        let record = try await store.get(key, in: namespace)
        seen[key] = .some(record)
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
        seen[prepared.key] = .some(plan.outcome.record)
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

    /// Writes every staged plan in one transaction, or none of them; empties the batch either
    /// way.
    public func commit() async throws {
        let staged = plans
        plans.removeAll()
        seen.removeAll()
        guard !staged.isEmpty else { return }
        try await store.commit(staged, in: namespace)
    }
}
