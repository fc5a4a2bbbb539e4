import Foundation

/// How much each measure runs: the full run for BENCHMARKS.md, or `--quick` for a smoke run
/// that finishes well within a minute.
public struct BenchPlan: Sendable {
    /// Records in the measured namespace.
    var records: Int
    var quick: Bool
    var puts: Int
    var gets: Int
    var lists: Int
    var searches: Int
    /// Puts in all for each concurrent-writers measure (split among the tasks).
    var writerPuts: Int
    var executorResponses: Int
    var turns: Int
    var loopTurns: Int
    var processRuns: Int
    /// Tool calls per response in the executor measure, and per turn in the turn measure.
    var callsPerTurn = 10
    /// Messages of the transcript a loop turn sends.
    var transcriptMessages = 100
    /// The most time one measure may take; it stops early (after a few operations) past this.
    var budget: Duration

    /// The full run for BENCHMARKS.md over a namespace of `records` records.
    public static func full(records: Int) -> BenchPlan {
        BenchPlan(
            records: records, quick: false, puts: 2_000, gets: 50_000, lists: 5_000, searches: 2_000, writerPuts: 4_000,
            executorResponses: 1_000, turns: 200, loopTurns: 300, processRuns: 30, budget: .seconds(8))
    }

    /// A smoke run over a namespace of `records` records.
    public static func quick(records: Int) -> BenchPlan {
        BenchPlan(
            records: records, quick: true, puts: 200, gets: 5_000, lists: 500, searches: 200, writerPuts: 400,
            executorResponses: 100, turns: 20, loopTurns: 40, processRuns: 5, budget: .seconds(1))
    }

    /// Whether the targets for a 1,000,000-record namespace apply.
    var isLarge: Bool { records >= 1_000_000 }
}

/// The performance targets of the issue, for a 10,000-record namespace unless stated.
enum BenchTargets {
    static let durablePut = BenchTarget.rate(4_000, "≥ 4,000/s")
    static let concurrentPut = BenchTarget.rate(40_000, "≥ 40,000/s")
    static let normalPut = BenchTarget.rate(30_000, "≥ 30,000/s")
    static let get = BenchTarget(text: "≥ 300,000/s, p99 < 50 µs", minimumRate: 300_000, maximumP99: 50)
    static let getLarge = BenchTarget(text: "p99 < 100 µs (1M)", maximumP99: 100)
    static let search10 = BenchTarget.rate(5_000, "≥ 5,000/s")
    static let search10Large = BenchTarget.rate(500, "≥ 500/s (1M)")
    static let list = BenchTarget.rate(20_000, "≥ 20,000/s")
    static let executor = BenchTarget.rate(50_000, "≥ 50,000 calls/s")
    static let loopOverhead = BenchTarget(text: "< 1 ms", maximumP50: 1_000)
    static let recallProcess = BenchTarget(text: "< 50 ms", maximumP50: 50_000)
}
