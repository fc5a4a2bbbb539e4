import AgentMemoryCore
import Foundation
import Logging

extension PostgresMemoryStore {
    /// Records written by this store after which it brings the planner's statistics of
    /// `memory_records` up to date itself (``analyzeAfterWrites(_:)``).
    ///
    /// The planner picks the search's plan from the table's statistics. Until they show a new
    /// namespace's records, it takes the namespace for a few rows and reads all of them through
    /// the primary key, testing the query on each, instead of asking the full-text index: after
    /// an import of 200,000 records into a new namespace a search took 1.3 s instead of about 20 ms
    /// (BENCHMARKS.md, round twenty-two). Autovacuum analyzes the table only once a tenth of it
    /// changed, and at most once a minute.
    public static let analyzeThreshold = 10_000

    /// Operations in one write from which the write waits for the analysis it makes due: a
    /// bulk write (an import, a batch), whose caller searches next with the new statistics.
    /// A smaller write leaves it to the maintenance timer (``maintenanceInterval``), so that a
    /// stream of single puts never waits for it.
    public static let bulkWrite = 1_000

    /// Counts `count` records written and, when the store's count since its last analysis
    /// reaches ``analyzeThreshold`` with a bulk write (``bulkWrite``), runs `ANALYZE` before
    /// returning. The write has committed: a failure is logged, not thrown.
    func analyzeAfterWrites(_ count: Int) async {
        let due = writesSinceAnalyze.withLock { written -> Bool in
            written += count
            guard written >= Self.analyzeThreshold, count >= Self.bulkWrite else { return false }
            written = 0
            return true
        }
        if due { await analyzeRecords() }
    }

    /// Runs `ANALYZE` when the store has written ``analyzeThreshold`` records since its last
    /// one (for the maintenance timer).
    func analyzeIfDue() async {
        let due = writesSinceAnalyze.withLock { written -> Bool in
            guard written >= Self.analyzeThreshold else { return false }
            written = 0
            return true
        }
        if due { await analyzeRecords() }
    }

    /// `ANALYZE memory_records` (about 0.3 s at 400,000 records: it reads a sample of 30,000
    /// rows whatever the table's size). A role that does not own the table gets a warning
    /// from the server and nothing changes.
    private func analyzeRecords() async {
        do {
            try await autocommit { session in try await session.execute("ANALYZE memory_records") }
        } catch {
            logger.warning(
                "agent-memory: ANALYZE of memory_records failed; searches may be planned with old statistics until autovacuum runs",
                metadata: ["store": "\(location)", "error": "\(error)"])
        }
    }
}
