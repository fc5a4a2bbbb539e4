import AgentMemoryJSON
import AgentMemory
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What a measure must reach to meet the performance target.
struct BenchTarget: Sendable {
    /// As printed in the table's target column.
    var text: String
    /// The least ops/s, if the target has one.
    var minimumRate: Double?
    /// The largest p99 in µs, if the target has one.
    var maximumP99: Double?
    /// The largest p50 in µs, if the target has one.
    var maximumP50: Double?

    static func rate(_ rate: Double, _ text: String) -> BenchTarget { BenchTarget(text: text, minimumRate: rate) }

    func isMet(by measurement: BenchMeasurement) -> Bool {
        if let minimumRate, measurement.rate < minimumRate { return false }
        if let maximumP99, measurement.p99 >= maximumP99 { return false }
        if let maximumP50, measurement.p50 >= maximumP50 { return false }
        return true
    }
}

/// One row of the report: a throughput and the latency percentiles of one measure.
struct BenchMeasurement: Sendable {
    /// What was measured, e.g. "get hit".
    var name: String
    /// The store it ran on ("memory", "sqlite FULL", ...), or "" when none.
    var store: String
    /// Operations (in ``unit``) per second over the wall time of the whole run.
    var rate: Double
    /// What `rate` counts: "ops/s", "calls/s", "turns/s".
    var unit: String
    /// Median latency of one timed operation, in µs.
    var p50: Double
    /// 99th-percentile latency of one timed operation, in µs.
    var p99: Double
    /// How many operations were timed.
    var count: Int
    /// What a timed operation is when it is not one unit (e.g. "one response of 10 calls").
    var note: String?
    /// The target, when it sets one for this measure.
    var target: BenchTarget?

    var met: Bool? { target.map { $0.isMet(by: self) } }

    var label: String { store.isEmpty ? name : "\(name) [\(store)]" }

    var jsonValue: JSONValue {
        var object: [(String, JSONValue)] = [
            ("name", .string(name)), ("store", .string(store)), ("rate", .double(rate.rounded())), ("unit", .string(unit)),
            ("p50_us", .double((p50 * 10).rounded() / 10)), ("p99_us", .double((p99 * 10).rounded() / 10)),
            ("count", .int(count)),
        ]
        if let note { object.append(("note", .string(note))) }
        if let target {
            object.append(("target", .string(target.text)))
            object.append(("met", .bool(target.isMet(by: self))))
        }
        return .object(JSONObject(object))
    }
}

/// Latency samples in nanoseconds, and the percentiles of them.
struct LatencySamples: Sendable {
    private(set) var nanoseconds: [Int64] = []

    init(capacity: Int = 0) { nanoseconds.reserveCapacity(capacity) }

    mutating func append(_ duration: Duration) {
        let (seconds, attoseconds) = duration.components
        nanoseconds.append(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
    }

    mutating func append(contentsOf other: LatencySamples) { nanoseconds += other.nanoseconds }

    var count: Int { nanoseconds.count }

    /// The `fraction` percentile (nearest rank) in µs; 0 without samples.
    func percentile(_ fraction: Double) -> Double {
        guard !nanoseconds.isEmpty else { return 0 }
        let sorted = nanoseconds.sorted()
        let rank = Int((fraction * Double(sorted.count)).rounded(.up)) - 1
        return Double(sorted[min(max(rank, 0), sorted.count - 1)]) / 1000
    }
}

extension Duration {
    var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}

/// Runs `operation` `iterations` times in sequence (stopping early once `budget` has passed,
/// after at least a few), each on an input that `prepare` makes before its timing starts (the
/// test data, such as a batch's notes, is not the store's work); the rate is over the timed
/// calls alone, plus `finish`, timed once after the last call: the work the calls left
/// pending in the store (``pendingWork(of:)``), which is theirs though no call paid it.
func measureSequential<Input>(
    _ name: String, store: String, iterations: Int, budget: Duration, unit: String = "ops/s", unitsPerOperation: Int = 1,
    note: String? = nil, target: BenchTarget? = nil, finish: () async throws -> Void = {}, prepare: (Int) throws -> Input,
    _ operation: (Input) async throws -> Void
) async throws -> BenchMeasurement {
    let clock = ContinuousClock()
    var samples = LatencySamples(capacity: iterations)
    let deadline = clock.now + budget
    var timed = Duration.zero
    var done = 0
    while done < iterations {
        let input = try prepare(done)
        let before = clock.now
        try await operation(input)
        let after = clock.now
        samples.append(after - before)
        timed += after - before
        done += 1
        if done >= 3, after > deadline { break }
    }
    timed += try await clock.measure(finish)
    return BenchMeasurement(
        name: name, store: store, rate: Double(done * unitsPerOperation) / max(timed.seconds, 1e-9), unit: unit,
        p50: samples.percentile(0.5), p99: samples.percentile(0.99), count: done, note: note, target: target)
}

/// Runs `operation` `iterations` times in sequence (stopping early once `budget` has passed,
/// after at least a few), timing each call with the monotonic clock; the rate is over the
/// timed calls.
func measureSequential(
    _ name: String, store: String, iterations: Int, budget: Duration, unit: String = "ops/s", unitsPerOperation: Int = 1,
    note: String? = nil, target: BenchTarget? = nil, finish: () async throws -> Void = {}, _ operation: (Int) async throws -> Void
) async throws -> BenchMeasurement {
    try await measureSequential(
        name, store: store, iterations: iterations, budget: budget, unit: unit, unitsPerOperation: unitsPerOperation,
        note: note, target: target, finish: finish, prepare: { $0 }, operation)
}

/// The work a store's writes leave pending, for a write row to time as its own: the SQLite
/// store indexes its writes for full-text search in batches (``SQLiteMemoryStore``'s catch-up),
/// so the rows written since the last batch are indexed here; other stores leave nothing.
func pendingWork(of store: any MemoryStore) async throws {
    try await (store as? SQLiteMemoryStore)?.catchUpSearchIndex()
}

/// The peak resident set size of this process so far, in bytes.
func peakResidentBytes() -> Int {
    var usage = rusage()
    #if os(Linux)
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    return Int(usage.ru_maxrss) * 1024  // kilobytes on Linux
    #else
    getrusage(RUSAGE_SELF, &usage)
    return Int(usage.ru_maxrss)  // bytes on macOS
    #endif
}
