import AgentMemoryCore
import Foundation
import Logging

extension PostgresMemoryStore {
    /// Records written by this store after which it first brings the planner's statistics of
    /// `memory_records` up to date itself (``analyzeAfterWrites(_:)``); each analysis doubles
    /// the records the next one waits for, up to ``largestAnalyzeInterval``.
    ///
    /// The planner picks the search's plan from the table's statistics. Until they show a new
    /// namespace's records, it takes the namespace for a few rows and reads all of them through
    /// the primary key, testing the query on each, instead of asking the full-text index: after
    /// an import of 200,000 records into a new namespace a search took 1.3 s instead of about 20 ms
    /// (BENCHMARKS.md, round twenty-one). Autovacuum analyzes the table only once a tenth of it
    /// changed, and at most once a minute. Doubling keeps the statistics within a factor of
    /// about two of what this store wrote, which is all the plan needs, while a load of a
    /// million records in batches analyzes 6 times rather than 100 (0.3 s each).
    public static let analyzeThreshold = 10_000

    /// The most records this store writes between two analyses of its own.
    public static let largestAnalyzeInterval = 1_000_000

    /// Operations in one write from which the write waits for the analysis it makes due: a
    /// bulk write (an import, a batch), whose caller searches next with the new statistics.
    /// A smaller write leaves it to the maintenance timer (``maintenanceInterval``), so that a
    /// stream of single puts never waits for it.
    public static let bulkWrite = 1_000

    /// The records written since the store's last analysis, and how many make the next one due.
    struct AnalyzeSchedule {
        var written = 0
        var interval = PostgresMemoryStore.analyzeThreshold

        /// Whether an analysis is due (the count then starts again, toward twice the interval).
        mutating func take() -> Bool {
            guard written >= interval else { return false }
            written = 0
            interval = min(interval * 2, PostgresMemoryStore.largestAnalyzeInterval)
            return true
        }

        /// Counts `count` records written by one write; whether that write should run the
        /// analysis now (it is a bulk write, ``PostgresMemoryStore/bulkWrite``, and one is due).
        mutating func wrote(_ count: Int) -> Bool {
            written += count
            return count >= PostgresMemoryStore.bulkWrite && take()
        }
    }

    /// Counts `count` records written and, when the store's count since its last analysis
    /// reaches the schedule's interval with a bulk write (``bulkWrite``), runs `ANALYZE`
    /// before returning. The write has committed: a failure is logged, not thrown.
    func analyzeAfterWrites(_ count: Int) async {
        let due = analyzeSchedule.withLock { $0.wrote(count) }
        if due { await analyzeRecords() }
    }

    /// Runs `ANALYZE` when the store's writes made one due (for the maintenance timer).
    func analyzeIfDue() async {
        if analyzeSchedule.withLock({ $0.take() }) { await analyzeRecords() }
    }

    /// `ANALYZE memory_records` (about 0.3 s at 400,000 records: it reads a sample of 30,000
    /// rows whatever the table's size). A role that does not own the table gets a warning
    /// from the server and nothing changes.
    private func analyzeRecords() async {
        do {
            try await autocommit { session in try await session.execute("ANALYZE memory_records") }
        } catch {
            // Closing stops maintenance mid-statement: nothing to report.
            if Task.isCancelled { return }
            logger.warning(
                "agent-memory: ANALYZE of memory_records failed; searches may be planned with old statistics until autovacuum runs",
                metadata: ["store": "\(location)", "error": "\(error)"])
        }
    }
}
