import AgentMemoryJSON
import AgentMemory
import AgentMemoryRuntime
import Foundation

/// The PostgreSQL rows of issue 13, measured as a user meets them: `agent-memory exec --store
/// postgres://...` reading one message of 2,000 `remember` (then `recall`) calls, whole
/// process; single durable puts and gets in process; `agent-memory recall` as a process. The
/// peer's rates come from scripts/bench/langgraph_postgres_peer.py, run beside these by
/// scripts/bench/postgres_side_by_side.sh, which prints the ratios.
struct PostgresBenchmarks: Sendable {
    let plan: BenchPlan
    /// The `agent-memory` binary the process measures run.
    let executable: String
    /// The PostgreSQL store URL (`--store`).
    let url: String
    let data: BenchData
    /// Tool calls in the one message `exec` reads.
    var calls = 2_000

    func run(progress: (String) -> Void) async throws -> [BenchMeasurement] {
        let namespace = try Namespace("bench-pg-\(UUID().uuidString.lowercased().prefix(8))")
        let location = try StoreLocation(parsing: url)
        var results: [BenchMeasurement] = []
        do {
            progress("postgres: exec, \(calls.formatted) remember calls in one message")
            results.append(try await exec(tool: "remember", namespace: namespace))
            progress("postgres: exec, \(calls.formatted) recall calls in one message")
            results.append(try await exec(tool: "recall", namespace: namespace))
            progress("postgres: exec, \(calls.formatted) remember calls over existing keys")
            results.append(try await exec(tool: "remember", namespace: namespace, overKeysOfRound: 0))
            progress("postgres: `agent-memory recall` as a process")
            results.append(try await recallProcess(namespace: namespace))
            progress("postgres: single durable puts and gets")
            results += try await RuntimeSettings.closing(try location.open()) { store in
                try await singles(store, namespace: namespace)
            }
        } catch {
            try? await empty(location, namespace: namespace)
            throw error
        }
        try await empty(location, namespace: namespace)
        return results
    }

    /// The message `exec` reads in run `round`: `calls` calls of `tool` on keys
    /// `note/ROUND/0` ... (a value each for `remember`). Each `remember` run writes keys of its
    /// own, new ones, as the peer's batched puts do (until round fifty the runs wrote the same
    /// keys again: the timed ones measured updates); each `recall` run reads the keys of the
    /// `remember` run of its number. With `keysOf`, the keys are those of that round instead
    /// (updates, when that round's `remember` ran), each run's values still its own.
    func message(tool: String, round: Int, keysOf keyRound: Int? = nil) -> Data {
        let blocks: [JSONValue] = (0..<calls).map { index in
            let key = JSONValue.string("note/\(keyRound ?? round)/\(index)")
            let input: JSONValue = tool == "remember" ? ["key": key, "value": data.note(round * calls + index)] : ["key": key]
            return ["type": "tool_use", "id": .string("toolu_\(round)_\(index)"), "name": .string(tool), "input": input]
        }
        let message: JSONValue = ["role": "assistant", "content": .array(blocks)]
        return Data(message.jsonString().utf8)
    }

    /// `agent-memory exec` on one message of `calls` calls of `tool`, whole process (spawn to
    /// exit), each run timed; the first run is not timed (it warms the caches). With
    /// `overKeysOfRound`, every run writes the keys of that earlier round again (2,000 updates
    /// a message, records whose search documents the runs before may have computed or not).
    func exec(tool: String, namespace: Namespace, overKeysOfRound keyRound: Int? = nil) async throws -> BenchMeasurement {
        let runs = plan.quick ? 2 : 6
        var samples = LatencySamples(capacity: runs)
        var total = 0.0
        let clock = ContinuousClock()
        for run in 0...runs {
            // Values of rounds after the new-key runs', so that each update changes the value.
            let input = message(tool: tool, round: keyRound == nil ? run : runs + 1 + run, keysOf: keyRound)
            let start = clock.now
            let output = try await Self.capture(
                URL(fileURLWithPath: executable), ["exec", "--store", url, "--namespace", namespace.name], input: input)
            let elapsed = clock.now - start
            let errors = output.components(separatedBy: "\"is_error\":true").count - 1
            guard errors == 0 else {
                throw BenchError("bench: `agent-memory exec` answered \(errors) of \(calls) \(tool) calls with an error: \(output.prefix(300))")
            }
            if run > 0 {
                samples.append(elapsed)
                total += elapsed.seconds
            }
        }
        return BenchMeasurement(
            name: "exec, \(calls.formatted) \(tool) calls " + (keyRound == nil ? "in one message" : "over existing keys"), store: "postgres",
            rate: Double(calls * samples.count) / total, unit: "calls/s", p50: samples.percentile(0.5), p99: samples.percentile(0.99),
            count: samples.count, note: "whole process per message, µs; peer: scripts/bench/postgres_side_by_side.sh")
    }

    /// `agent-memory recall KEY --store postgres://...` as a process, start to exit.
    func recallProcess(namespace: Namespace) async throws -> BenchMeasurement {
        try await ProcessBenchmark(plan: plan, executable: executable).recall(
            key: "note/0/0", store: url, label: "postgres", namespace: namespace,
            target: BenchTarget(text: "< 25 ms", maximumP50: 25_000))
    }

    /// Single durable puts of new keys (each its own transaction and commit), then single gets
    /// of them, one caller.
    func singles(_ store: any MemoryStore, namespace: Namespace) async throws -> [BenchMeasurement] {
        let count = plan.quick ? 100 : 500
        let put = try await measureSequential(
            "put, one writer", store: "postgres", iterations: count, budget: plan.budget * 2,
            note: "peer: single durable puts, scripts/bench/postgres_side_by_side.sh"
        ) { index in
            try await store.put("single/\(index)", value: data.note(index), in: namespace)
        }
        let get = try await measureSequential("get hit", store: "postgres", iterations: put.count, budget: plan.budget * 2) { index in
            guard try await store.get("single/\(index)", in: namespace) != nil else {
                throw BenchError("bench: get single/\(index) found nothing")
            }
        }
        return [put, get]
    }

    private func empty(_ location: StoreLocation, namespace: Namespace) async throws {
        try await RuntimeSettings.closing(try location.open()) { store in
            while true {
                let page = try await store.list(in: namespace, prefix: nil, cursor: nil, limit: 1_000)
                if page.records.isEmpty { return }
                try await store.batch(page.records.map { .delete(key: MemoryKey(checked: $0.key)) }, in: namespace)
            }
        }
    }

    /// Runs a program with `input` on stdin; returns its stdout, throwing on a non-zero exit.
    /// Both go through files in the temporary folder (a pipe would hold only 64 KB).
    static func capture(_ executable: URL, _ arguments: [String], input: Data) async throws -> String {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("agent-memory-bench-pg-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let inputFile = folder.appendingPathComponent("stdin"), outputFile = folder.appendingPathComponent("stdout")
        try input.write(to: inputFile)
        _ = FileManager.default.createFile(atPath: outputFile.path, contents: nil)
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = try FileHandle(forReadingFrom: inputFile)
        process.standardOutput = try FileHandle(forWritingTo: outputFile)
        process.standardError = FileHandle.nullDevice
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
        guard status == 0 else {
            throw BenchError("bench: `\(executable.path) \(arguments.joined(separator: " "))` exited with status \(status)")
        }
        return String(decoding: try Data(contentsOf: outputFile), as: UTF8.self)
    }
}
