@testable import AgentMemoryPostgres
import Testing

/// The schedule of the PostgreSQL store's own `ANALYZE` runs (PostgresMemoryStore+Statistics):
/// pure arithmetic, so it runs without a server. `PostgresStatisticsTests` checks the same
/// schedule against a real server for the first two analyses.
@Suite("PostgreSQL analyze schedule")
struct AnalyzeScheduleTests {
    /// Feeds `total` records in writes of `batch` through the rule `analyzeAfterWrites` applies
    /// (`AnalyzeSchedule.wrote`) and returns the totals at which an analysis ran inline.
    private static func analyses(total: Int, batch: Int) -> [Int] {
        var schedule = PostgresMemoryStore.AnalyzeSchedule()
        var written = 0
        var runs: [Int] = []
        while written < total {
            written += batch
            if schedule.wrote(batch) { runs.append(written) }
        }
        return runs
    }

    @Test("the interval doubles from 10,000 and stops at 1,000,000")
    func intervalDoublesUpToTheCap() {
        var schedule = PostgresMemoryStore.AnalyzeSchedule()
        var intervals: [Int] = []
        for _ in 0..<10 {
            intervals.append(schedule.interval)
            schedule.written = schedule.interval - 1
            let early = schedule.take()
            #expect(!early, "one record short of \(schedule.interval) must not analyze")
            schedule.written += 1
            let due = schedule.take()
            #expect(due)
            #expect(schedule.written == 0)
        }
        #expect(intervals == [10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_000_000, 1_000_000, 1_000_000])
    }

    @Test("a load of a million records in batches of 1,000 analyzes six times")
    func millionRecordLoad() {
        #expect(Self.analyses(total: 1_000_000, batch: 1_000) == [10_000, 30_000, 70_000, 150_000, 310_000, 630_000])
        // Past the cap, one analysis per million records.
        let runs = Self.analyses(total: 5_000_000, batch: 1_000)
        #expect(Array(runs.suffix(4)) == [1_270_000, 2_270_000, 3_270_000, 4_270_000])
    }

    @Test("small writes never make an analysis due inline, but the timer's check does")
    func smallWritesWaitForTheTimer() {
        #expect(Self.analyses(total: 50_000, batch: PostgresMemoryStore.bulkWrite - 1).isEmpty)
        var schedule = PostgresMemoryStore.AnalyzeSchedule()
        schedule.written = 12_000
        let due = schedule.take()
        #expect(due)
        #expect(schedule.interval == 20_000)
    }
}
