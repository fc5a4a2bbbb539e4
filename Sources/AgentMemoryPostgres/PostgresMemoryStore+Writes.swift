import AgentMemoryCore
import Foundation
import Logging

extension PostgresMemoryStore {
    /// Applies the operations atomically; see ``MemoryStore/apply(_:in:)``.
    ///
    /// Without quotas or appends, three round trips whatever the number of operations: the
    /// current rows of every key (and the time), then one statement that writes them and the
    /// change log if no key moved meanwhile, and the statement that confirms it committed,
    /// queued right behind it (``optimisticWrite(in:keys:valueKeys:_:)``, ``CommitToken``).
    /// Otherwise, or when a key moved, a transaction of five: `BEGIN`, the namespace lock
    /// (which also reads the time), the current rows of every key, the writes and the change
    /// log, `COMMIT`. A bulk write may then bring the planner's statistics up to date
    /// (``analyzeAfterWrites(_:in:)``).
    public func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        let prepared = try operations.map(limits.prepare)
        guard !prepared.isEmpty else { return [] }
        let limits = self.limits
        let appended = prepared.compactMap { write -> MemoryKey? in
            if case .append = write.kind { return write.key }
            return nil
        }
        let keys = prepared.map(\.key)
        let body: @Sendable (PostgresTransactionWriter, Date) async throws -> [WriteOutcome] = { writer, now in
            try await writer.load(keys, withValues: appended)
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(prepared.count)
            for write in prepared {
                outcomes.append(try await writer.apply(write, limits: limits, namespace: namespace, now: now).outcome)
            }
            return outcomes
        }
        // An append's result depends on the value read, and a quota on a count: both take the lock.
        let outcomes: [WriteOutcome]
        if !limits.hasQuota, appended.isEmpty,
           let written = try await optimisticWrite(in: namespace, keys: keys, valueKeys: [], body) {
            outcomes = written
        } else {
            outcomes = try await transaction(in: namespace, body)
        }
        await analyzeAfterWrites(prepared.count, in: namespace)
        await indexAfterWrites(prepared.count, in: namespace)
        return outcomes
    }

    /// Writes staged plans in one transaction if no key moved since they were planned; see
    /// ``MemoryStore/commit(_:in:)``.
    ///
    /// Without quotas, two round trips: the rows are not read again, the write statement checks
    /// them against what the batch read (each key's version and times, the row it planned
    /// against), and the commit is confirmed. When a key moved since, or a row has an expiry,
    /// nothing is written and the commit goes as ``apply(_:in:)`` does: the rows read, the
    /// version check, the optimistic statement, or the locked transaction.
    public func commit(_ plans: [WritePlan], in namespace: Namespace) async throws {
        guard !plans.isEmpty else { return }
        let limits = self.limits
        let keys = plans.map(\.key)
        let body: @Sendable (PostgresTransactionWriter, Date) async throws -> Void = { writer, now in
            try await writer.load(keys, withValues: [])
            for plan in plans {
                try await writer.commit(plan, limits: limits, namespace: namespace, now: now)
            }
        }
        var written = false
        if !limits.hasQuota {
            if let planned = PostgresTransactionWriter.plannedRows(plans) {
                written = try await optimisticWrite(in: namespace, keys: keys, valueKeys: [], assuming: planned, body) != nil
            } else {
                logger.debug("planned write read its rows again (a row has an expiry)", metadata: ["namespace": "\(namespace.name)"])
            }
            if !written { written = try await optimisticWrite(in: namespace, keys: keys, valueKeys: [], body) != nil }
        }
        if !written { try await transaction(in: namespace, body) }
        await analyzeAfterWrites(plans.count, in: namespace)
        await indexAfterWrites(plans.count, in: namespace)
    }
}
