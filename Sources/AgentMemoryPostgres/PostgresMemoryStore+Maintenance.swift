import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO
import Synchronization

extension PostgresMemoryStore {
    /// Starts the maintenance timer: every ``maintenanceInterval``, once the store has
    /// connected (a store never used never connects), it prunes the change log, purges
    /// expired records, computes the search documents that wait (``catchUpSearchIndex()``),
    /// and analyzes `memory_records` when the store's writes made it due
    /// (``analyzeThreshold``). The task holds the store weakly and ``close()`` stops it.
    func startMaintenance() {
        let interval = maintenanceInterval
        let task = Task { [weak self] in
            while !Task.isCancelled {
                do {
                    try await Task.sleep(for: interval)
                } catch {
                    return
                }
                guard let store = self else { return }
                await store.maintainIfConnected()
            }
        }
        lifecycle.withLock { $0.maintenance = task }
    }

    private func maintainIfConnected() async {
        guard lifecycle.withLock({ $0.ready && !$0.closed }) else { return }
        do {
            let pruned = try await pruneChangeLog()
            let purged = try await purgeExpired()
            let indexed = try await catchUpSearchIndex()
            await analyzeIfDue()
            if pruned > 0 || purged > 0 || indexed > 0 {
                logger.debug(
                    "agent-memory: maintenance",
                    metadata: ["pruned changes": "\(pruned)", "purged records": "\(purged)", "search documents": "\(indexed)"])
            }
        } catch {
            if Task.isCancelled { return }
            logger.warning("agent-memory: maintenance failed", metadata: ["error": "\(error)"])
        }
    }

    /// Deletes every expired record now (reads already ignore them; the maintenance timer
    /// does this too); returns how many.
    ///
    /// Each namespace's expired records are deleted in the writers' own locked transaction
    /// (``transaction(in:_:)``, ``PostgresTransactionWriter/purgeExpired(now:)``), which takes the
    /// namespace's counter row first: deleting rows in the order of a scan without it, the purge
    /// could deadlock with a writer or a search catch-up locking the same rows in another order.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        let now = clockSeconds()
        let due = try await autocommit { session in
            try await session.rows("""
                SELECT DISTINCT namespace FROM memory_records
                WHERE expires_at IS NOT NULL AND expires_at <= COALESCE(to_timestamp(\(now)::float8), now()) ORDER BY 1
                """).map { try $0.decode(String.self) }
        }
        var purged = 0
        for name in due {
            purged += try await transaction(in: try Namespace(name)) { writer, now in try await writer.purgeExpired(now: now) }
        }
        return purged
    }

    /// Drops change-log entries beyond ``retention`` (the maintenance timer does this too);
    /// returns how many.
    @discardableResult
    public func pruneChangeLog() async throws -> Int {
        let now = clockSeconds()
        let retention = self.retention
        return try await autocommit { session in
            var pruned = 0
            if let maxAge = retention.maxAge {
                let seconds = Double(Self.nanoseconds(maxAge)) / 1e9
                // By age, each namespace's entries oldest first in number order, up to the first
                // entry young enough to keep: writers number entries under the namespace's
                // counter row, so times follow numbers (an entry written with an earlier time
                // than the one before it is kept until the entries numbered before it expire).
                // There is no index on time: it cost every write an index entry.
                pruned += try await session.rows("""
                    WITH cutoff AS (
                        SELECT COALESCE(to_timestamp(\(now)::float8), now()) - make_interval(secs => \(seconds)) AS time
                    ), kept AS (
                        SELECT n.namespace,
                               (SELECT c.sequence FROM memory_changes c, cutoff
                                WHERE c.namespace = n.namespace AND c.time >= cutoff.time ORDER BY c.sequence LIMIT 1) AS first
                        FROM memory_namespaces n
                    ), pruned AS (
                        DELETE FROM memory_changes c USING kept
                        WHERE c.namespace = kept.namespace AND c.sequence < COALESCE(kept.first, 9223372036854775807)
                        RETURNING 1
                    ) SELECT count(*) FROM pruned
                    """).first?.decode(Int.self) ?? 0
            }
            if let maxEntries = retention.maxEntriesPerNamespace {
                pruned += try await session.rows("""
                    WITH pruned AS (
                        DELETE FROM memory_changes c USING memory_namespaces n
                        WHERE c.namespace = n.namespace AND c.sequence <= n.last_sequence - \(maxEntries)
                        RETURNING 1
                    ) SELECT count(*) FROM pruned
                    """).first?.decode(Int.self) ?? 0
            }
            return pruned
        }
    }
}
