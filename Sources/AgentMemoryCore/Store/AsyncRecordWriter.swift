import Foundation

/// The asynchronous counterpart of ``RecordWriter``, for backends whose transaction talks to a
/// server (PostgreSQL): read a key's row, count the namespace's usage, purge expired rows, and
/// write a plan, each possibly a round trip. The extension methods drive a write through
/// ``RecordTransition`` exactly as ``RecordWriter``'s do, so that every backend applies the
/// same rule.
public protocol AsyncRecordWriter {
    /// The key's row in the transaction's namespace, expired or not, or `nil`.
    func row(for key: MemoryKey) async throws -> CurrentRow?
    /// The rows and bytes the namespace holds now (expired rows included).
    func usage() async throws -> NamespaceUsage
    /// Deletes the namespace's expired rows; returns how many.
    func purgeExpired(now: Date) async throws -> Int
    /// Carries out `plan` on the key's row (`row` as read before) and appends its change-log
    /// entry, numbered in commit order. A backend may defer the statements until its
    /// transaction commits, as long as later reads through this writer see the write.
    func write(_ plan: WritePlan, replacing row: CurrentRow?) async throws
}

extension AsyncRecordWriter {
    /// Plans `write` against the key's row and carries it out; returns the plan.
    public func apply(_ write: PreparedWrite, limits: MemoryLimits, namespace: Namespace, now: Date) async throws -> WritePlan {
        let row = try await row(for: write.key)
        let plan = try RecordTransition.plan(write, current: row, limits: limits, now: now)
        try await checkQuotaAndWrite(plan, replacing: row, limits: limits, namespace: namespace, now: now)
        return plan
    }

    /// Carries out a plan staged earlier, if the key is still at the version it was planned
    /// against; otherwise throws ``MemoryError/Code/versionConflict``.
    public func commit(_ plan: WritePlan, limits: MemoryLimits, namespace: Namespace, now: Date) async throws {
        let row = try await row(for: plan.key)
        let live = row.flatMap { $0.stamp.isExpired(at: now) ? nil : $0 }
        let liveVersion = live?.stamp.version ?? 0
        guard liveVersion == plan.expectedVersion else {
            throw MemoryError.conflict(
                key: plan.key.rawValue, expected: plan.expectedVersion, current: liveVersion, author: live?.stamp.author)
        }
        try await checkQuotaAndWrite(plan, replacing: row, limits: limits, namespace: namespace, now: now)
    }

    private func checkQuotaAndWrite(
        _ plan: WritePlan, replacing row: CurrentRow?, limits: MemoryLimits, namespace: Namespace, now: Date
    ) async throws {
        if limits.hasQuota {
            do {
                try limits.checkQuota(plan, replacing: row, usage: try await usage(), namespace: namespace)
            } catch {
                // Expired rows count until purged: purge them and look again. Counted again
                // even when this purge found none: on a server the count and the purge are
                // separate statements, and another session's purge (the store's maintenance,
                // another process) may have deleted the expired rows in between, which the
                // count above still held.
                _ = try await purgeExpired(now: now)
                let current = try await self.row(for: plan.key)
                try limits.checkQuota(plan, replacing: current, usage: try await usage(), namespace: namespace)
                try await write(plan, replacing: current)
                return
            }
        }
        try await write(plan, replacing: row)
    }
}
