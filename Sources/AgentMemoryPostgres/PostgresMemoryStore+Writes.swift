import AgentMemoryCore
import Foundation

extension PostgresMemoryStore {
    /// Applies the operations in one transaction; see ``MemoryStore/apply(_:in:)``.
    ///
    /// Five round trips whatever the number of operations (without quotas): `BEGIN`, the
    /// namespace lock (which also reads the time), the current rows of every key, the writes
    /// and the change log, `COMMIT`.
    public func apply(_ operations: [MemoryOperation], in namespace: Namespace) async throws -> [WriteOutcome] {
        let prepared = try operations.map(limits.prepare)
        guard !prepared.isEmpty else { return [] }
        let limits = self.limits
        let appended = prepared.compactMap { write -> MemoryKey? in
            if case .append = write.kind { return write.key }
            return nil
        }
        return try await transaction(in: namespace) { writer, now in
            try await writer.load(prepared.map(\.key), withValues: appended)
            var outcomes: [WriteOutcome] = []
            outcomes.reserveCapacity(prepared.count)
            for write in prepared {
                outcomes.append(try await writer.apply(write, limits: limits, namespace: namespace, now: now).outcome)
            }
            return outcomes
        }
    }

    /// Writes staged plans in one transaction if no key moved since they were planned; see
    /// ``MemoryStore/commit(_:in:)``. As many round trips as ``apply(_:in:)``.
    public func commit(_ plans: [WritePlan], in namespace: Namespace) async throws {
        guard !plans.isEmpty else { return }
        let limits = self.limits
        try await transaction(in: namespace) { writer, now in
            try await writer.load(plans.map(\.key), withValues: [])
            for plan in plans {
                try await writer.commit(plan, limits: limits, namespace: namespace, now: now)
            }
        }
    }
}
