import AgentMemory
import Foundation

/// `agent-memory recall KEY --store sqlite:PATH` as a new process, start to exit (by default
/// this very binary).
struct ProcessBenchmark: Sendable {
    let plan: BenchPlan
    /// The `agent-memory` binary.
    let executable: String

    func recall(storePath: String, namespace: Namespace, key: String) async throws -> BenchMeasurement {
        try await recall(key: key, store: "sqlite:\(storePath)", label: "sqlite", namespace: namespace, target: BenchTargets.recallProcess)
    }

    /// `agent-memory recall KEY --store STORE` as a process, ``BenchPlan/processRuns`` times
    /// after one run that warms caches; `label` names the store in the report.
    func recall(key: String, store: String, label: String, namespace: Namespace, target: BenchTarget) async throws -> BenchMeasurement {
        let executable = URL(fileURLWithPath: executable)
        let arguments = ["recall", key, "--store", store, "--namespace", namespace.name]
        let clock = ContinuousClock()
        var samples = LatencySamples(capacity: plan.processRuns)
        var total = 0.0
        for run in 0..<(plan.processRuns + 1) {
            let start = clock.now
            let status = try await Self.run(executable, arguments)
            let elapsed = clock.now - start
            guard status == 0 else {
                throw BenchError("bench: `\(executable.path) \(arguments.joined(separator: " "))` exited with status \(status)")
            }
            if run > 0 {  // the first run warms the page cache
                samples.append(elapsed)
                total += elapsed.seconds
            }
        }
        return BenchMeasurement(
            name: "`agent-memory recall` process", store: label, rate: Double(samples.count) / total, unit: "runs/s",
            p50: samples.percentile(0.5), p99: samples.percentile(0.99), count: samples.count,
            note: "spawn to exit, µs", target: target)
    }

    /// This binary: /proc/self/exe (Linux), else the bundle's executable, else argv[0].
    static func executablePath() -> String {
        if let resolved = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return resolved }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }

    /// Runs a program with no input and its output discarded; returns its exit status without
    /// blocking a thread of the cooperative pool.
    static func run(_ executable: URL, _ arguments: [String]) async throws -> Int32 {
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        return try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { process in continuation.resume(returning: process.terminationStatus) }
            do {
                try process.run()
            } catch {
                process.terminationHandler = nil
                continuation.resume(throwing: error)
            }
        }
    }
}
