import AgentMemoryJSON
import AgentMemory
import Foundation
import Testing

/// `agent-memory bench` as a user runs it: its options, its JSON, and that it leaves no files.
/// The speed itself is not asserted here (BENCHMARKS.md records it; CI smoke-runs `--quick`).
@Suite("agent-memory bench")
struct BenchCommandTests {
    @Test func rejectsUnknownGroupsAndTooFewRecords() async throws {
        let cli = CommandRunner()
        let unknown = try await cli.run(["bench", "--only", "store,nope"])
        #expect(unknown.status == 2)
        #expect(unknown.stderr.contains("--only takes groups among executor, loop, postgres, process, store, writers"))
        let empty = try await cli.run(["bench", "--records", "0"])
        #expect(empty.status == 2)
        #expect(empty.stderr.contains("--records must be at least 1"))
    }

    @Test func printsJSONAndDeletesItsFilesBesideTheGivenStore() async throws {
        let (result, folder) = try await quickJSONRun(only: "process")
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue(parsing: result.stdout)
        #expect(json["records"] == 20)
        let names = (json["measures"]?.arrayValue ?? []).compactMap { $0["name"]?.stringValue }
        #expect(names.contains("`agent-memory recall` process"))
        let process = (json["measures"]?.arrayValue ?? []).first { $0["name"]?.stringValue == "`agent-memory recall` process" }
        #expect(process?["target"]?.stringValue == "< 50 ms")
        #expect((json["peak_memory_bytes"]?.intValue ?? 0) > 0)
        // The command puts SQLite in multi-thread mode before anything opens a connection.
        #expect(json["sqlite_mode"] == "multi-thread")
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// The executor's end-to-end responses are timed in turn with their SQL through SQLite's
    /// C API, and the report pairs the two rows (the limit the disk sets in the same run).
    @Test func pairsTheExecutorsResponsesWithTheirRawSQL() async throws {
        let (result, folder) = try await quickJSONRun(only: "executor")
        // --quick: 100 responses, each side in turn.
        try expectPair(
            result, folder: folder, row: "executor e2e: remember+recall",
            limit: "raw SQLite: a response's SQL in one transaction, FULL, records + change-log row", unit: "calls/s", count: 100)
    }

    /// Single durable puts after a pause longer than the kernel's clock tick, as an agent makes
    /// them, are timed in turn with raw SQLite's after the same pause, and paired.
    @Test func pairsPutsAfterAPauseWithRawSQLite() async throws {
        let (result, folder) = try await quickJSONRun(only: "store")
        // --quick: 20 puts a side, each after its pause.
        try expectPair(
            result, folder: folder, row: "put after a pause of 5 ms",
            limit: "raw SQLite: autocommit insert after a pause of 5 ms, FULL, records table", unit: "ops/s", count: 20)
    }

    /// Checks a quick run's JSON: the store's `row` timed in turn with raw SQLite (FULL) and
    /// the raw row `limit`, both in `unit` with `count` operations, paired with a ratio and no
    /// target ratio; and the run's files gone from `folder`.
    private func expectPair(
        _ result: CommandRunner.Result, folder: URL, row: String, limit: String, unit: String, count: Int
    ) throws {
        #expect(result.status == 0, "\(result.stderr)")
        let json = try JSONValue(parsing: result.stdout)
        let measures = json["measures"]?.arrayValue ?? []
        func measure(_ name: String, _ store: String) -> JSONValue? {
            measures.first { $0["name"]?.stringValue == name && $0["store"]?.stringValue == store }
        }
        let paired = try #require(measure(row, "sqlite FULL, in turn with raw"))
        let raw = try #require(measure(limit, "raw C API"))
        #expect(paired["unit"] == .string(unit))
        #expect(raw["unit"] == .string(unit))
        // Both sides ran the same number of operations: `count`, or fewer when the run's time
        // budget ran out first (a loaded machine: CI's run of 99286c6 stopped at 60 of 100).
        let done = try #require(paired["count"]?.intValue)
        #expect((1...count).contains(done))
        #expect(raw["count"] == .int(done))
        let comparisons = json["comparisons"]?.arrayValue ?? []
        let pair = try #require(comparisons.first { $0["limit"]?.stringValue == limit })
        #expect(pair["row"] == .string("\(row) [sqlite FULL, in turn with raw]"))
        #expect((pair["ratio"]?.doubleValue ?? 0) > 0)
        #expect(pair["target_ratio"] == nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: folder.path).isEmpty)
    }

    /// `bench --quick --records 20 --only GROUP --json` with its files beside a store in a
    /// folder of its own; returns the run and the folder.
    private func quickJSONRun(only group: String) async throws -> (CommandRunner.Result, URL) {
        let cli = CommandRunner()
        let folder = cli.home.appendingPathComponent("stores")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let result = try await cli.run([
            "bench", "--quick", "--records", "20", "--only", group, "--json",
            "--store", "sqlite:\(folder.appendingPathComponent("mine.sqlite").path)",
        ])
        return (result, folder)
    }
}
