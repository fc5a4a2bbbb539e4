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
        let cli = CommandRunner()
        let folder = cli.home.appendingPathComponent("stores")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        let result = try await cli.run([
            "bench", "--quick", "--records", "20", "--only", "process", "--json",
            "--store", "sqlite:\(folder.appendingPathComponent("mine.sqlite").path)",
        ])
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
}
