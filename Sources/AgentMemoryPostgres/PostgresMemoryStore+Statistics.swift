import AgentMemoryCore
import Foundation
import Logging
import PostgresNIO

extension PostgresMemoryStore {
    /// Records written by this store after which it first brings the planner's statistics of
    /// `memory_records` up to date itself (``analyzeAfterWrites(_:in:)``); each analysis doubles
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

        /// Starts the count again after an analysis that the schedule did not make due
        /// (``analyzeIfStatisticsPredate(_:holding:)``); the interval stays as it was.
        mutating func analyzedOutOfTurn() {
            written = 0
        }

        /// Counts `count` records written by one write; whether that write should run the
        /// analysis now (it is a bulk write, ``PostgresMemoryStore/bulkWrite``, and one is due).
        mutating func wrote(_ count: Int) -> Bool {
            written += count
            return count >= PostgresMemoryStore.bulkWrite && take()
        }
    }

    /// Counts `count` records written to `namespace` and, when the store's count since its last
    /// analysis reaches the schedule's interval with a bulk write (``bulkWrite``), runs
    /// `ANALYZE` before returning. A bulk write that does not make one due looks at the
    /// planner's estimate of the namespace (``analyzeIfStatisticsPredate(_:holding:)``). The
    /// write has committed: a failure is logged, not thrown.
    func analyzeAfterWrites(_ count: Int, in namespace: Namespace) async {
        let due = analyzeSchedule.withLock { $0.wrote(count) }
        if due {
            await analyzeRecords()
        } else if count >= Self.bulkWrite {
            await analyzeIfStatisticsPredate(namespace, holding: count)
        }
    }

    /// Runs `ANALYZE` when the planner's statistics put `namespace` at fewer than a tenth of the
    /// `records` it is known to hold (a write's own, or a search's count of the namespace's
    /// documents): statistics taken before the namespace had its rows, or before it existed,
    /// where the planner takes a namespace it does not know for one row. Looks once per
    /// namespace and store, and only from ``bulkWrite`` records.
    ///
    /// Autovacuum analyzes the table once a tenth of it changed, and this store after
    /// ``analyzeThreshold`` records of its own; a namespace filled by processes that each write
    /// less (`agent-memory exec` of a turn's calls, a crew's members) could wait long for
    /// either. Until then the planner read a search's matches through the namespace's whole
    /// range of the primary key, testing the query on each row, instead of asking the
    /// full-text index (twice the time at 20,000 records, and growing with them; BENCHMARKS.md,
    /// round fifty-seven). The estimate is one `EXPLAIN`, about half a millisecond. A failure is
    /// logged, not thrown.
    func analyzeIfStatisticsPredate(_ namespace: Namespace, holding records: Int) async {
        guard records >= Self.bulkWrite, staleChecked.withLock({ $0.insert(namespace.name).inserted }) else { return }
        let expected: Int?
        do {
            let rows = try await autocommit { session in
                try await session.rows("EXPLAIN SELECT 1 FROM memory_records WHERE namespace = \(namespace.name)::text")
            }
            expected = try rows.first.map { try $0.decode(String.self) }.flatMap(Self.estimatedRows)
        } catch {
            if Task.isCancelled { return }
            logger.warning(
                "agent-memory: the planner's estimate of a namespace could not be read; its statistics are left to autovacuum",
                metadata: ["store": "\(location)", "namespace": "\(namespace.name)", "error": "\(error)"])
            return
        }
        guard let expected, expected * 10 < records else { return }
        analyzeSchedule.withLock { $0.analyzedOutOfTurn() }
        await analyzeRecords()
    }

    /// The row count of the first line of `EXPLAIN`'s text (`... rows=N width=...`).
    package static func estimatedRows(_ line: String) -> Int? {
        guard let range = line.range(of: " rows=") else { return nil }
        return Int(line[range.upperBound...].prefix { $0.isNumber })
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
