import AgentMemory
import AgentMemoryRuntime
import Foundation

/// Runs the measures of a plan, in an order that keeps the filled namespaces reused.
public struct BenchRunner: Sendable {
    /// The groups of measures a run can be limited to.
    public static let groups: Set<String> = ["store", "writers", "executor", "loop", "process", "postgres"]

    let plan: BenchPlan
    let groups: Set<String>
    /// --store: an SQLite path whose folder takes the throwaway files, `memory:`, or another
    /// store to measure besides the in-memory and SQLite ones.
    let location: StoreLocation?
    /// The `agent-memory` binary the process measure runs.
    let executable: String
    let data = BenchData()

    /// A run of `plan` limited to `groups` (among ``groups``). `location` is the store the user
    /// named, if any: an SQLite path puts the throwaway files in its folder, another kind of
    /// store is measured too. `executable` is the `agent-memory` binary (default: this process's).
    public init(plan: BenchPlan, groups: Set<String>, location: StoreLocation?, executable: String? = nil) {
        self.plan = plan
        self.groups = groups
        self.location = location
        self.executable = executable ?? ProcessBenchmark.executablePath()
    }

    func progress(_ text: String) {
        FileHandle.standardError.write(Data(("bench: " + text + "\n").utf8))
    }

    /// Runs the measures, printing progress on stderr; throws a ``BenchError`` when a measure
    /// does not behave as scripted.
    public func run() async throws -> BenchReport {
        let clock = ContinuousClock()
        let start = clock.now
        var report = BenchReport(plan: plan)
        report.loadBefore = BenchReport.loadAverage()
        let namespace = try Namespace("bench")
        let stores = StoreBenchmarks(plan: plan, data: data, namespace: namespace)
        let executor = ExecutorBenchmarks(plan: plan, data: data, namespace: namespace)

        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let path = directory.appendingPathComponent("bench.sqlite").path
        let needsFill = !groups.isDisjoint(with: ["store", "writers", "executor", "process"])

        // In-memory store.
        if needsFill {
            report.measurements += try await RuntimeSettings.closing(InMemoryMemoryStore()) { memory in
                try await measureStore(memory, label: "memory", slug: "memory", stores: stores, executor: executor, durable: nil)
            }
        }

        // The executor over a bare dictionary: its own cost, without a store's.
        if groups.contains("executor") {
            let flat = FlatStore()
            progress("tool executor over a bare dictionary")
            try await stores.fillQuietly(flat)
            report.measurements.append(try await executor.endToEnd(flat, label: "dictionary", slug: "flat"))
        }

        // SQLite, synchronous FULL, then the same file with NORMAL. No bench store merges its
        // full-text index on its own (`idleIndexMerge: nil`): a merge begun in a quiet moment
        // would run inside the rows after it; the "index merged" row measures what it gives.
        if needsFill {
            report.measurements += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, synchronous: .full, idleIndexMerge: nil)) { sqlite in
                var results = try await measureStore(
                    sqlite, label: "sqlite FULL", slug: "sqlite", stores: stores, executor: executor, durable: .full)
                if groups.contains("process") {
                    progress("`agent-memory recall` as a process")
                    results.append(try await ProcessBenchmark(plan: plan, executable: executable).recall(
                        storePath: path, namespace: namespace, key: BenchData.key(0)))
                }
                return results
            }
        }
        if groups.contains("executor") {
            progress("sqlite FULL: the executor's responses in turn with their SQL through the C API")
            report.measurements += try await RawSQLiteBaseline(plan: plan, data: data).responses(
                path: path, namespace: namespace, directory: directory, executor: executor)
        }
        if groups.contains("store") {
            report.measurements.append(try await stores.dispatchHop())
            report.measurements += try await GRDBReadBaseline(plan: plan).measure(path: path, namespace: namespace)
            report.measurements += try await GRDBReadBaseline(plan: plan).plainWrites(directory: directory)
            progress("sqlite NORMAL: puts")
            report.measurements.append(try await RuntimeSettings.closing(try SQLiteMemoryStore(path: path, synchronous: .normal, idleIndexMerge: nil)) { normal in
                try await stores.puts(
                    normal, label: "sqlite NORMAL", name: "put, one writer", prefix: "put-normal", target: BenchTargets.normalPut)
            })
            progress("sqlite: get, list and search through each read path")
            report.measurements += try await stores.readPaths(path: path)
            progress("sqlite FULL: a search right after a burst of writes")
            let burstPath = directory.appendingPathComponent("burst.sqlite").path
            report.measurements += try await RuntimeSettings.closing(try SQLiteMemoryStore(path: burstPath, idleIndexMerge: nil)) { burst in
                try await stores.searchAfterBurst(burst, label: "sqlite FULL")
            }
            progress("raw SQLite through the C API: the same inserts and gets")
            report.measurements += try await RawSQLiteBaseline(plan: plan, data: data).measure(path: path, namespace: namespace, directory: directory)
        }
        report.comparisons = BenchComparison.sqlitePairs(report.measurements)

        // Another store named by --store (PostgreSQL, where the build has it).
        if let location, needsFill, location != .inMemory, !location.isSQLite {
            report.measurements += try await measureOther(location, stores: stores, executor: executor)
        }

        // The PostgreSQL rows of issue 13 (exec and recall processes, single puts), with
        // --store postgres://... (PostgresBenchmarks.swift).
        if groups.contains("postgres"), let location, case .postgres(let url) = location {
            report.measurements += try await PostgresBenchmarks(plan: plan, executable: executable, url: url, data: data).run(progress: progress)
        }

        if groups.contains("loop") {
            for streaming in [false, true] {
                progress("agent loop against the scripted server (\(streaming ? "streaming" : "non-streaming"))")
                report.measurements += try await LoopBenchmark(plan: plan, data: data).run(streaming: streaming)
            }
        }
        report.peakMemoryBytes = peakResidentBytes()
        report.loadAfter = BenchReport.loadAverage()
        report.seconds = (clock.now - start).seconds
        return report
    }

    private enum Durability { case full }

    /// Fill, puts, reads, concurrent writers and the executor measures on one store.
    private func measureStore(
        _ store: any MemoryStore, label: String, slug: String, stores: StoreBenchmarks, executor: ExecutorBenchmarks,
        durable: Durability?
    ) async throws -> [BenchMeasurement] {
        var results: [BenchMeasurement] = []
        progress("\(label): filling \(plan.records.formatted) records")
        results.append(try await stores.fill(store, label: label))
        if groups.contains("store") {
            progress("\(label): puts, gets, lists, searches")
            let put = try await stores.puts(
                store, label: label, name: "put, one writer", prefix: "put-\(slug)", target: durable == nil ? nil : BenchTargets.durablePut)
            results.append(put)
            results += try await stores.reads(store, label: label)
        }
        if groups.contains("writers") {
            progress("\(label): concurrent writers")
            for tasks in [1, 4, 16] {
                let target: BenchTarget? = durable == nil ? nil : tasks == 16 ? BenchTargets.concurrentPut : tasks == 1 ? BenchTargets.durablePut : nil
                results.append(try await stores.concurrentWriters(store, label: label, tasks: tasks, target: target))
            }
        }
        if groups.contains("executor") {
            progress("\(label): tool executor")
            results.append(try await executor.endToEnd(store, label: label, slug: slug))
            results.append(try await executor.recallMiss(store, label: label))
            if durable != nil {
                results += try await executor.turn(store, label: label)
            }
        }
        return results
    }

    /// The measures on a store given by --store that is neither SQLite nor in-memory, in a
    /// namespace of its own that is emptied afterwards.
    private func measureOther(_ location: StoreLocation, stores: StoreBenchmarks, executor: ExecutorBenchmarks) async throws -> [BenchMeasurement] {
        let namespace = try Namespace("bench-\(UUID().uuidString.lowercased().prefix(8))")
        let label = String(location.description.prefix(while: { $0 != ":" }))
        let ownStores = StoreBenchmarks(plan: plan, data: data, namespace: namespace)
        let ownExecutor = ExecutorBenchmarks(plan: plan, data: data, namespace: namespace)
        return try await RuntimeSettings.closing(try location.open()) { store in
            do {
                let results = try await measureStore(
                    store, label: label, slug: "other", stores: ownStores, executor: ownExecutor, durable: .full)
                try await empty(store, namespace: namespace)
                return results
            } catch {
                try? await empty(store, namespace: namespace)
                throw error
            }
        }
    }

    private func empty(_ store: any MemoryStore, namespace: Namespace) async throws {
        progress("emptying namespace \(namespace) of the measured store")
        while true {
            let page = try await store.list(in: namespace, prefix: nil, cursor: nil, limit: 1_000)
            if page.records.isEmpty { return }
            try await store.batch(page.records.map { .delete(key: MemoryKey(checked: $0.key)) }, in: namespace)
        }
    }

    /// A new folder for the throwaway SQLite file: beside --store's file when it is SQLite,
    /// else in the system's temporary folder.
    private func makeTemporaryDirectory() throws -> URL {
        var parent = FileManager.default.temporaryDirectory
        if let location, case .sqlite(let path) = location {
            let folder = (path as NSString).deletingLastPathComponent
            parent = URL(fileURLWithPath: folder.isEmpty ? "." : folder)
        }
        let directory = parent.appendingPathComponent("agent-memory-bench-\(UUID().uuidString.lowercased())")
        do {
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        } catch {
            throw BenchError("cannot create a folder for the benchmark's files at \(directory.path): \(error)")
        }
        return directory
    }
}
