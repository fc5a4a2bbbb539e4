import AgentMemoryCore
import Foundation
import GRDB
import Synchronization

/// The change log: reading it, watching it, and pruning it to the retention policy.
extension SQLiteMemoryStore {
    /// Changes after `since`, oldest first.
    public func changes(in namespace: Namespace, since: Int64, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        return try await scan { db in
            let statement = try db.cachedStatement(sql: """
                SELECT sequence, key, operation, version, author, time FROM memory_changes
                WHERE namespace = ? AND sequence > ? ORDER BY sequence LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [namespace.name, since, limit]).map(Self.change)
        }
    }

    /// The retained changes of `key`, oldest first.
    public func history(of key: MemoryKey, in namespace: Namespace, limit: Int) async throws -> [MemoryChange] {
        try ListCursor.validate(limit: limit)
        let key = key.rawValue
        return try await scan { db in
            let statement = try db.cachedStatement(sql: """
                SELECT sequence, key, operation, version, author, time FROM memory_changes
                WHERE namespace = ? AND key = ? ORDER BY sequence DESC LIMIT ?
                """)
            return try Row.fetchAll(statement, arguments: [namespace.name, key, limit]).map(Self.change).reversed()
        }
    }

    /// Polls the change log (every 100 ms) and yields new changes; other processes' writes
    /// are seen too.
    public func watch(in namespace: Namespace, since: Int64) -> AsyncThrowingStream<MemoryChange, any Error> {
        pollChanges(in: namespace, since: since)
    }

    /// Counts a write toward the next prune of the change log; `true` when one is due.
    func pruneDue() -> Bool {
        let interval = Self.pruneInterval(for: retention)
        return writesSincePrune.withLock { count -> Bool in
            count += 1
            guard count >= interval else { return false }
            count = 0
            return true
        }
    }

    /// This process's writes between two prunes of the change log (a write that crosses it
    /// prunes in its own transaction): a 64th of the per-namespace entry limit, at least 1,000
    /// and at most 16,384, which is also the interval without a limit. So a namespace's log
    /// holds at most 1,000 entries or a 64th over its limit for a while (with the default limit,
    /// 15,625), and entries past their age are dropped within 16,384 writes of the process.
    ///
    /// A prune costs about 200 µs (the log's namespaces found, each one's floor number written,
    /// its old entries deleted, and the write's rows inserted in two parts around it); once every
    /// 1,000 writes that was 5 to 8% of a batch of 1,000 puts (BENCHMARKS.md, round thirty-five).
    static func pruneInterval(for retention: ChangeLogRetention) -> Int {
        guard let limit = retention.maxEntriesPerNamespace else { return 16_384 }
        return min(16_384, max(1_000, limit / 64))
    }

    /// Drops change-log entries beyond the retention policy.
    public func pruneChangeLog() async throws {
        let now = clock()
        try await write { db in try self.pruneChanges(now: now, db: db) }
    }

    func pruneChanges(now: Date, db: Database) throws {
        // The namespaces of the log, one index seek each (a skip scan over the primary key),
        // where a GROUP BY read every entry.
        let namespaces = try String.fetchAll(db, sql: """
            WITH RECURSIVE logged(namespace) AS (
                SELECT MIN(namespace) FROM memory_changes
                UNION ALL
                SELECT (SELECT MIN(namespace) FROM memory_changes WHERE namespace > logged.namespace)
                FROM logged WHERE logged.namespace IS NOT NULL
            )
            SELECT namespace FROM logged WHERE namespace IS NOT NULL
            """)
        // Each namespace's last number, kept as a floor: a write numbers its change after the
        // larger of the newest entry and this, so numbers go on even when every entry is pruned.
        let floor = try db.cachedStatement(sql: """
            INSERT INTO memory_namespaces (namespace, last_sequence)
            SELECT ?1, sequence FROM memory_changes WHERE namespace = ?1 ORDER BY sequence DESC LIMIT 1
            ON CONFLICT (namespace) DO UPDATE SET last_sequence = MAX(last_sequence, excluded.last_sequence)
            """)
        // By age, oldest first in number order, up to the first entry young enough to keep:
        // writes number their entries in commit order, so times follow numbers (an entry
        // written after the clock went back is kept until the entries numbered before it
        // expire). There is no index on time: it cost every write a page.
        let byAge = try db.cachedStatement(sql: """
            DELETE FROM memory_changes WHERE namespace = ?1 AND sequence < COALESCE(
                (SELECT sequence FROM memory_changes WHERE namespace = ?1 AND time >= ?2 ORDER BY sequence LIMIT 1),
                9223372036854775807)
            """)
        let byCount = try db.cachedStatement(sql: """
            DELETE FROM memory_changes WHERE namespace = ?1
            AND sequence <= (SELECT last_sequence FROM memory_namespaces WHERE namespace = ?1) - ?2
            """)
        let cutoff = retention.cutoff(at: now)
        for namespace in namespaces {
            try floor.execute(arguments: [namespace])
            if let cutoff { try byAge.execute(arguments: [namespace, cutoff.timeIntervalSince1970]) }
            if let maxEntries = retention.maxEntriesPerNamespace { try byCount.execute(arguments: [namespace, maxEntries]) }
        }
    }

    static func change(_ row: Row) -> MemoryChange {
        MemoryChange(
            sequence: row["sequence"], key: row["key"], operation: MemoryChange.Operation(rawValue: row["operation"]),
            version: row["version"], author: row["author"], time: Date(timeIntervalSince1970: row["time"]))
    }
}
