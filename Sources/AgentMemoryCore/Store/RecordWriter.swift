import Foundation

/// What a backend offers inside one write transaction: read a key's row, count the
/// namespace's usage, purge expired rows, and write a plan. The extension methods drive a
/// write through ``RecordTransition`` so that every backend applies the same rule.
public protocol RecordWriter {
    /// The key's row in the transaction's namespace, expired or not, or `nil`.
    func row(for key: MemoryKey) throws -> CurrentRow?
    /// The rows and bytes the namespace holds now (expired rows included).
    func usage() throws -> NamespaceUsage
    /// Deletes the namespace's expired rows; returns how many.
    func purgeExpired(now: Date) throws -> Int
    /// Carries out `plan` on the key's row (`row` as read before) and appends its change-log
    /// entry, numbered in commit order.
    func write(_ plan: WritePlan, replacing row: CurrentRow?) throws
}

extension RecordWriter {
    /// Plans `write` against the key's row and carries it out; returns the plan.
    public func apply(_ write: PreparedWrite, limits: MemoryLimits, namespace: Namespace, now: Date) throws -> WritePlan {
        let row = try row(for: write.key)
        let plan = try RecordTransition.plan(write, current: row, limits: limits, now: now)
        try checkQuotaAndWrite(plan, replacing: row, limits: limits, namespace: namespace, now: now)
        return plan
    }

    /// Carries out a plan staged earlier, if the key is still at the version it was planned
    /// against; otherwise throws ``MemoryError/Code/versionConflict``.
    public func commit(_ plan: WritePlan, limits: MemoryLimits, namespace: Namespace, now: Date) throws {
        let row = try row(for: plan.key)
        let live = row.flatMap { $0.stamp.isExpired(at: now) ? nil : $0 }
        let liveVersion = live?.stamp.version ?? 0
        guard liveVersion == plan.expectedVersion else {
            throw MemoryError.conflict(
                key: plan.key.rawValue, expected: plan.expectedVersion, current: liveVersion, author: live?.stamp.author)
        }
        try checkQuotaAndWrite(plan, replacing: row, limits: limits, namespace: namespace, now: now)
    }

    private func checkQuotaAndWrite(
        _ plan: WritePlan, replacing row: CurrentRow?, limits: MemoryLimits, namespace: Namespace, now: Date
    ) throws {
        if limits.hasQuota {
            do {
                try limits.checkQuota(plan, replacing: row, usage: try usage(), namespace: namespace)
            } catch {
                // Expired rows count until purged: purge them and look again.
                guard try purgeExpired(now: now) > 0 else { throw error }
                let current = try self.row(for: plan.key)
                try limits.checkQuota(plan, replacing: current, usage: try usage(), namespace: namespace)
                try write(plan, replacing: current)
                return
            }
        }
        try write(plan, replacing: row)
    }
}
